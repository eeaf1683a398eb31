#!/usr/bin/env node
// Local SigV4-validating S3 origin for xs3lerator's end-to-end tests and demo.
//
// Starts @20minutes/s3rver (its own CLI is broken) on a chosen or free port, prints the bound
// port on stdout once it is listening, and adds what the tests need around it:
//   GET  /__stats          request counters (per method, per status, per bucket/key) as JSON
//   POST /__stats/reset    zero the counters
//   GET  /__control        current fault/throttle settings as JSON
//   POST /__control        JSON body merged into the settings:
//        {"throttle_bytes_per_sec": N,      // 0 = unthrottled; applies to GET bodies
//         "throttle_keys": ["b/k", ...],    // null = every key
//         "delay_ms": {"b/k": ms, ...}}     // sleep before answering GETs of that key
// and a few fixes so it behaves like S3 where the proxy depends on it: suffix ranges
// (bytes=-n), bytes=0-0, multi-range and invalid ranges (served as 200 full body), any range of
// an empty object (416 InvalidRange), If-Match (412 PreconditionFailed).
//
// Usage: node launch.js --directory DIR [--address 127.0.0.1] [--port 0]
//                       [--throttle-bytes-per-sec N] [--verbose]
// Needs NODE_OPTIONS=--openssl-legacy-provider on Node >= 17 (s3rver's dependencies).
'use strict';

const fs = require('fs');
const path = require('path');
const { Transform, pipeline } = require('stream');

const objectCtrl = require('@20minutes/s3rver/lib/controllers/object');
const FilesystemStore = require('@20minutes/s3rver/lib/stores/filesystem');
const S3Error = require('@20minutes/s3rver/lib/models/error');
const S3rver = require('@20minutes/s3rver');

function parse_args(argv) {
  const opts = {
    address: '127.0.0.1',
    port: 0,
    directory: null,
    throttle: Number(process.env.S3RVER_THROTTLE_BYTES_PER_SEC || 0),
    verbose: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case '--address':
        opts.address = value();
        break;
      case '--port':
        opts.port = Number(value());
        if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)
          fail('--port must be an integer in 0..65535');
        break;
      case '--directory':
        opts.directory = value();
        break;
      case '--throttle-bytes-per-sec':
        opts.throttle = Number(value());
        if (!(opts.throttle >= 0)) fail('--throttle-bytes-per-sec must be >= 0');
        break;
      case '--verbose':
        opts.verbose = true;
        break;
      case '--help':
        process.stdout.write(
          'usage: launch.js --directory DIR [--address A] [--port P] ' +
            '[--throttle-bytes-per-sec N] [--verbose]\n',
        );
        process.exit(0);
        break;
      default:
        fail(`unknown argument ${arg}`);
    }
  }
  if (!opts.directory) fail('--directory is required');
  return opts;
}

function fail(msg) {
  process.stderr.write(`s3rver launcher: ${msg}\n`);
  process.exit(2);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --- S3 fidelity fixes --------------------------------------------------------------------

// s3rver treats an explicit end of 0 as "no end" (bytes=0-0 returns the whole object).
const original_get_object = FilesystemStore.prototype.getObject;
FilesystemStore.prototype.getObject = async function (bucket, key, options) {
  const object = await original_get_object.call(this, bucket, key, options);
  if (object && object.content && options && options.end === 0 && options.start === 0) {
    object.content.destroy();
    object.content = fs.createReadStream(this.getResourcePath(bucket, key, 'object'), {
      start: 0,
      end: 0,
    });
    object.range = { start: 0, end: 0 };
  }
  return object;
};

// Runs after authentication, so rewriting the Range header cannot break the signature check.
const original_controller_get = objectCtrl.getObject;
objectCtrl.getObject = async function (ctx) {
  const { bucket, key } = ctx.params;
  let metadata = null;
  try {
    metadata = await ctx.store.getMetadata(bucket, key);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  if (metadata) {
    const if_match = ctx.headers['if-match'];
    if (if_match && if_match !== '*' && !if_match.split(',').map((s) => s.trim()).includes(metadata.etag)) {
      throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
        Condition: 'If-Match',
      });
    }
    const range = ctx.headers.range;
    if (range !== undefined) {
      const size = Number(metadata['content-length']);
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      if (m && size === 0 && !(m[1] === '' && m[2] === '')) {
        // S3: no byte range can be satisfied by an empty object (s3rver answers a broken 206).
        throw new S3Error('InvalidRange', 'The requested range is not satisfiable', {
          RangeRequested: range,
          ActualObjectSize: size,
        });
      }
      if (!m || (m[1] === '' && m[2] === '')) {
        delete ctx.headers.range; // S3 ignores ranges it cannot parse (and multi-range)
      } else if (m[1] === '') {
        const n = Number(m[2]);
        if (n === 0 || size === 0) {
          throw new S3Error('InvalidRange', 'The requested range is not satisfiable', {
            RangeRequested: range,
            ActualObjectSize: size,
          });
        }
        ctx.headers.range = `bytes=${Math.max(0, size - n)}-${size - 1}`;
      } else if (m[2] !== '' && Number(m[2]) < Number(m[1])) {
        delete ctx.headers.range; // invalid: S3 serves the whole object
      }
    }
  }
  return original_controller_get.call(this, ctx);
};

// --- counters, throttling, delays ----------------------------------------------------------

function new_stats() {
  return { total: 0, methods: {}, statuses: {}, keys: {} };
}

let stats = new_stats();
const control = { throttle_bytes_per_sec: 0, throttle_keys: null, delay_ms: {} };

// Bucket and key of a path-style request, or null for the service or a bucket.
function object_of(ctx) {
  const raw = ctx.path.replace(/^\/+/, '');
  const slash = raw.indexOf('/');
  if (slash <= 0 || slash === raw.length - 1) return null;
  try {
    return decodeURIComponent(raw.slice(0, slash)) + '/' + decodeURIComponent(raw.slice(slash + 1));
  } catch (e) {
    return null;
  }
}

function key_stats(name) {
  if (!stats.keys[name]) {
    stats.keys[name] = { GET: 0, GET_full: 0, GET_range: 0, HEAD: 0, other: 0, ranges: [], bytes_sent: 0 };
  }
  return stats.keys[name];
}

// Paces a body to about `rate` bytes per second in 20 slices a second.
function throttle_stream(rate) {
  const slice = Math.max(1, Math.floor(rate / 20));
  return new Transform({
    transform(chunk, encoding, callback) {
      (async () => {
        for (let off = 0; off < chunk.length; off += slice) {
          this.push(chunk.subarray(off, Math.min(chunk.length, off + slice)));
          await sleep(50);
        }
      })().then(() => callback(), callback);
    },
  });
}

async function read_body(ctx) {
  const parts = [];
  for await (const part of ctx.req) parts.push(part);
  return Buffer.concat(parts).toString('utf8');
}

async function harness(ctx, next) {
  if (ctx.path === '/__stats' || ctx.path.startsWith('/__stats/') || ctx.path === '/__control') {
    if (ctx.method === 'GET' && ctx.path === '/__stats') {
      ctx.body = JSON.stringify(stats);
    } else if (ctx.method === 'POST' && ctx.path === '/__stats/reset') {
      stats = new_stats();
      ctx.body = JSON.stringify(stats);
    } else if (ctx.method === 'GET' && ctx.path === '/__control') {
      ctx.body = JSON.stringify(control);
    } else if (ctx.method === 'POST' && ctx.path === '/__control') {
      let update;
      try {
        update = JSON.parse((await read_body(ctx)) || '{}');
      } catch (e) {
        ctx.status = 400;
        ctx.body = `bad JSON: ${e.message}\n`;
        return;
      }
      for (const name of Object.keys(update)) {
        if (!(name in control)) {
          ctx.status = 400;
          ctx.body = `unknown control ${name}\n`;
          return;
        }
        control[name] = update[name];
      }
      if (control.delay_ms === null) control.delay_ms = {};
      ctx.body = JSON.stringify(control);
    } else {
      ctx.status = 404;
      ctx.body = 'unknown harness endpoint\n';
      return;
    }
    ctx.type = 'application/json';
    return;
  }

  stats.total += 1;
  stats.methods[ctx.method] = (stats.methods[ctx.method] || 0) + 1;
  const name = object_of(ctx);
  let ks = null;
  if (name !== null) {
    ks = key_stats(name);
    if (ctx.method === 'GET') {
      ks.GET += 1;
      if (ctx.headers.range !== undefined) {
        ks.GET_range += 1;
        if (ks.ranges.length < 1000) ks.ranges.push(ctx.headers.range);
      } else {
        ks.GET_full += 1;
      }
    } else if (ctx.method === 'HEAD') {
      ks.HEAD += 1;
    } else {
      ks.other += 1;
    }
    if (ctx.method === 'GET' && control.delay_ms && control.delay_ms[name]) {
      await sleep(Number(control.delay_ms[name]));
    }
  }

  const count_status = (status) => {
    stats.statuses[String(status)] = (stats.statuses[String(status)] || 0) + 1;
  };
  try {
    await next();
  } catch (err) {
    // Errors become responses in s3rver's onerror, after this middleware has returned.
    count_status(err.status || 500);
    throw err;
  }
  count_status(ctx.status);

  if (ks && ctx.method === 'GET' && ctx.body && typeof ctx.body.pipe === 'function') {
    const rate = Number(control.throttle_bytes_per_sec || 0);
    const selected = !control.throttle_keys || control.throttle_keys.includes(name);
    const length = ctx.length;
    const stages = [ctx.body];
    if (rate > 0 && selected) stages.push(throttle_stream(rate));
    stages.push(
      new Transform({
        transform(chunk, encoding, callback) {
          ks.bytes_sent += chunk.length;
          callback(null, chunk);
        },
      }),
    );
    // pipeline destroys every stage when the client hangs up, so no file stays open.
    ctx.body = pipeline(stages, () => {});
    // Koa drops Content-Length when a stream body is replaced.
    if (length !== undefined) ctx.length = length;
  }
}

async function main() {
  const opts = parse_args(process.argv.slice(2));
  control.throttle_bytes_per_sec = opts.throttle;
  fs.mkdirSync(opts.directory, { recursive: true });

  const server = new S3rver({
    address: opts.address,
    port: opts.port,
    directory: path.resolve(opts.directory),
    silent: !opts.verbose,
  });
  // Koa composes app.middleware when the server starts, so this runs before s3rver's own.
  server.middleware.unshift(harness);
  // A client that hangs up mid-body (a killed proxy) is expected; keep serving.
  server.on('error', (err) => {
    if (opts.verbose) process.stderr.write(`s3rver: ${err.stack || err}\n`);
  });

  const address = await server.run();
  process.stdout.write(`${address.port}\n`);

  const stop = () => {
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`s3rver launcher: ${err.stack || err}\n`);
  process.exit(1);
});
