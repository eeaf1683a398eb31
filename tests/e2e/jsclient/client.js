#!/usr/bin/env node
// The AWS SDK for JavaScript v3 against xs3lerator, for the end-to-end tests. One JSON argument:
//   {"endpoint": "http://127.0.0.1:8080", "bucket": "b", "forcePathStyle": true,
//    "resolveToLoopback": "proxy.test",       // optional: <anything>.<this> connects to 127.0.0.1
//    "ops": [{"op": "get", "key": "k", "range": "bytes=0-9"}, {"op": "list", "prefix": "p/"},
//            {"op": "head", "key": "k"}, {"op": "headBucket"}, {"op": "tagging", "key": "k"},
//            {"op": "put", "key": "k", "body": "abc"}, {"op": "listBuckets"}]}
// Prints one JSON line: a result per op, {"ok": true, ...} or {"ok": false, "code", "status"}.
// Bodies are reported as sha256 and length, so the test compares them byte for byte.
'use strict';

const crypto = require('crypto');
const http = require('http');
const dns = require('dns');
const {
  S3Client,
  GetObjectCommand,
  HeadObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  ListBucketsCommand,
  GetObjectTaggingCommand,
  PutObjectCommand,
} = require('@aws-sdk/client-s3');

async function main() {
  const cfg = JSON.parse(process.argv[2]);
  let agent;
  if (cfg.resolveToLoopback) {
    const suffix = cfg.resolveToLoopback;
    agent = new http.Agent({
      keepAlive: true,
      lookup: (host, opts, cb) => {
        if (host === suffix || host.endsWith('.' + suffix)) host = '127.0.0.1';
        return dns.lookup(host, opts, cb);
      },
    });
  }
  const { NodeHttpHandler } = require('@smithy/node-http-handler');
  const client = new S3Client({
    endpoint: cfg.endpoint,
    region: 'us-east-1',
    forcePathStyle: !!cfg.forcePathStyle,
    credentials: { accessKeyId: 'client', secretAccessKey: 'client-secret' },
    maxAttempts: 1,
    requestHandler: agent ? new NodeHttpHandler({ httpAgent: agent }) : undefined,
  });
  const results = [];
  for (const o of cfg.ops) {
    try {
      results.push({ ok: true, ...(await run(client, cfg.bucket, o)) });
    } catch (err) {
      results.push({
        ok: false,
        code: err.name || err.Code,
        status: err.$metadata ? err.$metadata.httpStatusCode : 0,
        message: String(err.message || err),
      });
    }
  }
  process.stdout.write(JSON.stringify(results) + '\n');
}

async function run(client, bucket, o) {
  switch (o.op) {
    case 'get': {
      const r = await client.send(new GetObjectCommand({ Bucket: o.bucket || bucket, Key: o.key, Range: o.range }));
      const bytes = Buffer.from(await r.Body.transformToByteArray());
      return {
        sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
        length: bytes.length,
        contentRange: r.ContentRange || null,
        etag: r.ETag,
        metadata: r.Metadata,
      };
    }
    case 'head': {
      const r = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: o.key }));
      return { length: r.ContentLength, etag: r.ETag };
    }
    case 'headBucket':
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
      return {};
    case 'list': {
      const keys = [];
      let token;
      do {
        const r = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: o.prefix, ContinuationToken: token, MaxKeys: o.maxKeys }),
        );
        for (const c of r.Contents || []) keys.push([c.Key, c.Size]);
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
      return { keys };
    }
    case 'listBuckets': {
      const r = await client.send(new ListBucketsCommand({}));
      return { names: (r.Buckets || []).map((b) => b.Name) };
    }
    case 'tagging': {
      const r = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: o.key }));
      return { tags: (r.TagSet || []).map((t) => [t.Key, t.Value]) };
    }
    case 'put':
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: o.key, Body: o.body }));
      return {};
    default:
      throw new Error(`unknown op ${o.op}`);
  }
}

main().catch((err) => {
  process.stderr.write(`jsclient: ${err.stack || err}\n`);
  process.exit(1);
});
