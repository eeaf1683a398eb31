#!/usr/bin/env bash
# The demo: installs and builds, starts a local S3 server with a bucket of sample objects, starts
# xs3lerator in front of it on 127.0.0.1:8080, shows a cache miss, a cache hit and a Range request
# with curl, then keeps the proxy in the foreground. Ctrl-C stops both servers.
# State lives under .local/ (S3 data, cache, logs); running it again starts afresh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STATE="$ROOT/.local"
PROXY_PORT="${XS3_DEMO_PORT:-8080}"
S3_PORT="${XS3_DEMO_S3_PORT:-9000}"
BUCKET=demo
PY=/usr/bin/python3

say() { printf '\n\033[1m[demo] %s\033[0m\n' "$*"; }
die() { printf '[demo] ERROR: %s\n' "$*" >&2; exit 1; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Stop servers a previous run of this script left behind (only the PIDs it recorded).
stop_recorded() {
  local pidfile="$1" pattern="$2" pid
  [[ -f "$pidfile" ]] || return 0
  pid="$(cat "$pidfile")"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null &&
     tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
}

say "1/5 installing what is missing"
"$ROOT/scripts/setup-debian.sh"

say "2/5 building"
[[ -f build/build.ninja ]] || meson setup build
ninja -C build -j"${JOBS:-2}"
BINARY="${XS3_BINARY:-$ROOT/build/xs3lerator}"
[[ -x "$BINARY" ]] || die "$BINARY was not built"

mkdir -p "$STATE"
stop_recorded "$STATE/proxy.pid" xs3lerator
stop_recorded "$STATE/s3rver.pid" launch.js

S3_PID="" PROXY_PID=""
cleanup() {
  trap - EXIT INT TERM
  [[ -n "$PROXY_PID" ]] && kill "$PROXY_PID" 2>/dev/null || true
  [[ -n "$S3_PID" ]] && kill "$S3_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  [[ "$(cat "$STATE/proxy.pid" 2>/dev/null)" == "$PROXY_PID" ]] && rm -f "$STATE/proxy.pid"
  [[ "$(cat "$STATE/s3rver.pid" 2>/dev/null)" == "$S3_PID" ]] && rm -f "$STATE/s3rver.pid"
  printf '\n[demo] stopped\n'
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "3/5 starting the local S3 server (s3rver, SigV4-checking) on 127.0.0.1:$S3_PORT"
port_busy "$S3_PORT" && die "port $S3_PORT is in use (set XS3_DEMO_S3_PORT to another port)"
: >"$STATE/s3rver.port"
NODE_OPTIONS=--openssl-legacy-provider node tests/e2e/s3rver/launch.js \
  --directory "$STATE/s3rver" --port "$S3_PORT" >"$STATE/s3rver.port" 2>"$STATE/s3rver.log" &
S3_PID=$!
echo "$S3_PID" >"$STATE/s3rver.pid"
for _ in $(seq 100); do [[ -s "$STATE/s3rver.port" ]] && break; sleep 0.1; done
[[ -s "$STATE/s3rver.port" ]] || die "s3rver did not start; see $STATE/s3rver.log"
S3_URL="http://127.0.0.1:$S3_PORT"

export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
"$PY" - "$S3_URL" "$BUCKET" <<'PYEOF'
import hashlib, random, sys
import boto3
from botocore.config import Config

endpoint, bucket = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}))
if bucket not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
    s3.create_bucket(Bucket=bucket)
rng = random.Random(20240601)  # the same bytes on every run
samples = {
    "hello.txt": (b"Hello from xs3lerator!\n", "text/plain"),
    "data/records.csv": (b"".join(b"%d,%d\n" % (i, i * i) for i in range(20000)), "text/csv"),
    "big/blob-24MiB.bin": (rng.randbytes(24 * 1024 * 1024), "application/octet-stream"),
}
for key, (data, ctype) in samples.items():
    sha224 = hashlib.sha224(data).hexdigest()
    s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=ctype,
                  Metadata={"sha224": sha224})
    print(f"  s3://{bucket}/{key}  {len(data)} bytes  sha224={sha224[:16]}...")
PYEOF

say "4/5 starting xs3lerator on 127.0.0.1:$PROXY_PORT (cache: .local/cache, emptied first)"
port_busy "$PROXY_PORT" && die "port $PROXY_PORT is in use (set XS3_DEMO_PORT to another port)"
rm -rf "$STATE/cache"
mkdir -p "$STATE/cache"
"$BINARY" --bind-ip 127.0.0.1 --port "$PROXY_PORT" --bucket "$BUCKET" \
  --s3-endpoint-url "$S3_URL" --s3-force-path-style --region us-east-1 \
  --cache-dir "$STATE/cache" --max-cache-size 1GiB --workers 2 2> >(tee "$STATE/proxy.log" >&2) &
PROXY_PID=$!
echo "$PROXY_PID" >"$STATE/proxy.pid"
PROXY="http://127.0.0.1:$PROXY_PORT"
for _ in $(seq 100); do
  curl -fs -o /dev/null "$PROXY/healthz" && break
  kill -0 "$PROXY_PID" 2>/dev/null || die "xs3lerator exited during start-up; see $STATE/proxy.log"
  sleep 0.1
done
curl -fs -o /dev/null "$PROXY/healthz" || die "xs3lerator did not answer /healthz; see $STATE/proxy.log"

show() {  # show TITLE CURL-ARGS...
  local title="$1"; shift
  printf '\n$ curl -s -o /dev/null -D -'; printf ' %q' "$@"; printf '\n'
  curl -s -o /dev/null -D - -w '  -> %{http_code}, %{size_download} bytes in %{time_total} s\n' "$@" |
    grep -iE '^(HTTP/|x-cache|content-length|content-range|etag)|->' | sed 's/^/  /'
  printf '  (%s)\n' "$title"
}

say "5/5 fetching through the proxy"
show "first fetch: a miss, read from S3 and cached" "$PROXY/big/blob-24MiB.bin"
show "second fetch: a hit, served from .local/cache" "$PROXY/big/blob-24MiB.bin"
show "a Range request, served from the cache" -H 'Range: bytes=1000-1999' "$PROXY/big/blob-24MiB.bin"
show "a small object" "$PROXY/hello.txt"

say "xs3lerator is running at $PROXY (bucket '$BUCKET'); try: curl -i $PROXY/hello.txt"
say "Ctrl-C stops the proxy and the S3 server"
wait "$PROXY_PID"
