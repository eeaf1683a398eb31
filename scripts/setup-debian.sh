#!/usr/bin/env bash
# Installs what building, testing and the demo need on Debian bookworm: the toolchain and
# libraries from apt, the S3 clients the end-to-end tests drive (AWS CLI, boto3, rclone, s3cmd,
# s3fs), the local S3 server (npm ci in tests/e2e/s3rver) and the JavaScript SDK v3 client
# (npm ci in tests/e2e/jsclient).
# Idempotent: installs only what is missing, so a second run does nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
S3RVER_DIR="$ROOT/tests/e2e/s3rver"
JSCLIENT_DIR="$ROOT/tests/e2e/jsclient"

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

PACKAGES=(
  g++ meson ninja-build pkg-config cmake
  liburing-dev libnghttp2-dev libcurl4-openssl-dev libssl-dev libtomlplusplus-dev
  doctest-dev node-llhttp
  curl nghttp2-client wrk nginx openssl
  python3-pytest python3-boto3 python3-botocore python3-yaml awscli gnuplot-nox
  rclone s3cmd s3fs
  # promtool (checks /metrics in the e2e tests). Where systemd runs, the package also starts a
  # Prometheus server; `systemctl disable --now prometheus` if it is not wanted.
  prometheus
  # libFuzzer (scripts/fuzz.sh, and the fuzz regression run in scripts/test.sh)
  clang-14 libclang-rt-14-dev
)
# Node: keep one that is already installed (it may not come from Debian).
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script is for Debian bookworm"
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to install: ${missing[*]}"
    SUDO=(sudo)
  fi
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" apt-get install -y -q "${missing[@]}"
else
  say "apt packages: all present"
fi

command -v node >/dev/null 2>&1 || die "node is still missing after installing nodejs"
command -v npm >/dev/null 2>&1 || die "npm is still missing after installing npm"

# The S3 server: install when missing or when package-lock.json changed since the install.
if [[ ! -d "$S3RVER_DIR/node_modules/@20minutes/s3rver" ||
      "$S3RVER_DIR/package-lock.json" -nt "$S3RVER_DIR/node_modules/.package-lock.json" ]]; then
  say "installing the local S3 server (npm ci in tests/e2e/s3rver)"
  (cd "$S3RVER_DIR" && npm ci --no-audit --no-fund --loglevel=error)
else
  say "local S3 server: present"
fi

# The JavaScript SDK v3 for the client tests, the same way.
if [[ ! -d "$JSCLIENT_DIR/node_modules/@aws-sdk/client-s3" ||
      "$JSCLIENT_DIR/package-lock.json" -nt "$JSCLIENT_DIR/node_modules/.package-lock.json" ]]; then
  say "installing the JavaScript SDK v3 (npm ci in tests/e2e/jsclient)"
  (cd "$JSCLIENT_DIR" && npm ci --no-audit --no-fund --loglevel=error)
else
  say "JavaScript SDK v3: present"
fi

say "done"
