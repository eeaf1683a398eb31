#!/usr/bin/env node
// Local SigV4-validating S3 origin for xs3lerator's end-to-end tests and demo.
//
// Starts @20minutes/s3rver (its own CLI is broken) on a chosen or free port, prints the bound
// port on stdout once it is listening, and adds what the tests need around it:
//   GET  /__stats          request counters (per method, per status, per bucket/key) and the
//                          raw targets of the requests received, as JSON
//   POST /__stats/reset    zero the counters
//   GET  /__control        current fault/throttle settings as JSON
//   POST /__control        JSON body merged into the settings:
//        {"throttle_bytes_per_sec": N,      // 0 = unthrottled; applies to GET bodies
//         "throttle_keys": ["b/k", ...],    // null = every key
//         "delay_ms": {"b/k": ms, ...},     // sleep before answering GETs of that key
//         "unpatched": ["empty-range"]}     // fixes below switched off: s3rver's own answers
// and a few fixes so it behaves like S3 where the proxy depends on it: suffix ranges
// (bytes=-n), bytes=0-0, multi-range and invalid ranges (served as 200 full body), any range of
// an empty object (416 InvalidRange), If-Match (412 PreconditionFailed).
// The read-only operations the proxy relays answer as S3 does where s3rver has none of its own
// (or a broken one: GetObjectAcl):
// GetObjectAttributes, ListObjectVersions (an unversioned bucket: every object is version "null"),
// ListParts of an unknown upload (404 NoSuchUpload), GetObjectRetention / GetObjectLegalHold of a
// bucket without Object Lock (400 InvalidRequest).
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

function xml_text(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// GetObjectAttributes: s3rver routes ?attributes to GetObject (it would answer the bytes).
function object_attributes(ctx, metadata) {
  const wanted = String(ctx.headers['x-amz-object-attributes'] || '')
    .split(',')
    .map((s) => s.trim());
  let xml = '<?xml version="1.0" encoding="UTF-8"?>\n<GetObjectAttributesResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/">';
  if (wanted.includes('ETag')) xml += `<ETag>${xml_text(JSON.parse(metadata.etag))}</ETag>`;
  if (wanted.includes('StorageClass')) xml += '<StorageClass>STANDARD</StorageClass>';
  if (wanted.includes('ObjectSize')) xml += `<ObjectSize>${metadata['content-length']}</ObjectSize>`;
  xml += '</GetObjectAttributesResponse>';
  ctx.set('Last-Modified', metadata['last-modified']);
  ctx.type = 'application/xml';
  ctx.body = xml;
}

// ListObjectVersions of an unversioned bucket, as S3 answers it.
async function list_object_versions(ctx) {
  const prefix = ctx.query.prefix || '';
  const bucket = decodeURIComponent(ctx.path.replace(/^\/+/, '').split('/')[0]);
  const result = await ctx.store.listObjects(bucket, {
    prefix: prefix || undefined,
    delimiter: ctx.query.delimiter || undefined,
    maxKeys: 1000,
  });
  let xml = '<?xml version="1.0" encoding="UTF-8"?>\n<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">';
  xml += `<Name>${xml_text(bucket)}</Name><Prefix>${xml_text(prefix)}</Prefix>`;
  xml += '<KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker><MaxKeys>1000</MaxKeys>';
  xml += `<IsTruncated>${result.isTruncated ? 'true' : 'false'}</IsTruncated>`;
  for (const o of result.objects) {
    xml += `<Version><Key>${xml_text(o.key)}</Key><VersionId>null</VersionId><IsLatest>true</IsLatest>`;
    xml += `<LastModified>${o.lastModifiedDate.toISOString()}</LastModified>`;
    xml += `<ETag>${xml_text(o.metadata.etag)}</ETag><Size>${o.size}</Size><StorageClass>STANDARD</StorageClass></Version>`;
  }
  for (const p of result.commonPrefixes) xml += `<CommonPrefixes><Prefix>${xml_text(p)}</Prefix></CommonPrefixes>`;
  xml += '</ListVersionsResult>';
  ctx.status = 200;
  ctx.type = 'application/xml';
  ctx.body = xml;
}

// GetObjectAcl as S3 answers it (s3rver's stub puts <Permission> outside <Grant>, which s3cmd
// cannot parse); the object must exist.
objectCtrl.getObjectAcl = async function (ctx) {
  const { bucket, key } = ctx.params;
  if (!(await ctx.store.existsObject(bucket, key)))
    throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
  const owner = '<ID>79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be</ID><DisplayName>S3RVER</DisplayName>';
  ctx.type = 'application/xml';
  ctx.body =
    '<?xml version="1.0" encoding="UTF-8"?>\n<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    `<Owner>${owner}</Owner><AccessControlList><Grant>` +
    `<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">${owner}</Grantee>` +
    '<Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>';
};

// s3rver's answers to the relayed reads it lacks, turned into S3's (after authentication: these
// are the route handlers' own errors).
async function s3_read_answers(ctx, err) {
  if (ctx.method !== 'GET' || !err) return false;
  const object_level = object_of(ctx) !== null;
  if (!object_level && err.code === 'MethodNotAllowed' && 'versions' in ctx.query) {
    await list_object_versions(ctx);
    return true;
  }
  if (object_level && err.code === 'MethodNotAllowed' && 'uploadId' in ctx.query)
    throw new S3Error('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', {
      UploadId: ctx.query.uploadId,
    });
  if (object_level && err.code === 'NotImplemented' && ('retention' in ctx.query || 'legal-hold' in ctx.query))
    throw new S3Error('InvalidRequest', 'Bucket is missing Object Lock Configuration');
  return false;
}

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
  if ('attributes' in ctx.query) {
    if (!metadata) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
    object_attributes(ctx, metadata);
    return;
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
      const native_empty = (control.unpatched || []).includes('empty-range');
      if (m && size === 0 && native_empty) {
        // s3rver's own answer, as a user of that store sees it: 206 "bytes 0-0/0".
        return original_controller_get.call(this, ctx);
      }
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

// `requests`: every request's method and target exactly as it arrived (ctx.url is the raw
// request target), the first 5000 of them, so tests can see the bytes that reached the origin.
function new_stats() {
  return { total: 0, methods: {}, statuses: {}, keys: {}, requests: [] };
}

let stats = new_stats();
const control = { throttle_bytes_per_sec: 0, throttle_keys: null, delay_ms: {}, unpatched: [] };

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
  if (stats.requests.length < 5000) stats.requests.push({ method: ctx.method, url: ctx.req.url });
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
    let answered = false;
    try {
      answered = await s3_read_answers(ctx, err);
    } catch (replaced) {
      count_status(replaced.status || 500);
      throw replaced;
    }
    if (!answered) {
      // Errors become responses in s3rver's onerror, after this middleware has returned.
      count_status(err.status || 500);
      throw err;
    }
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
