"""The processes a scenario runs: the S3 emulator, xs3lerator (and its variants), nginx as a
proxy_cache + slice proxy, nginx as a static file server (h2 peer and loopback probe), and the
objects the emulator serves."""
import http.client
import json
import os
import shutil
import subprocess
import time
import urllib.request

from .common import KiB, MiB, ScenarioError, NotAvailable, free_port, parse_size, process_tree, \
    stop_process, wait_port, wait_port_file, object_spec

# ---------------------------------------------------------------- the emulator

class Emulator:
    """One s3emu per scenario run. profile 'fast' (no latency or bandwidth cap) or 's3'
    (--origin-latency first byte, --origin-bandwidth per connection)."""

    def __init__(self, h, profile, workdir, groups):
        self.h = h
        self.profile = profile
        self.groups = groups
        self.log = os.path.join(workdir, f"s3emu-{profile}.log")
        self.port = None
        self.proc = None

    def start(self):
        port_file = self.log + ".port"
        if os.path.exists(port_file):
            os.unlink(port_file)
        cmd = [self.h.s3emu, "--port", "0", "--port-file", port_file, "--threads",
               str(self.h.args.emu_threads), "--log-level", "warn"]
        for g in self.groups:
            cmd += ["--object", object_spec(g, self.h.scale, self.h.args.sha224)]
        if self.profile == "s3":
            cmd += ["--latency", self.h.args.origin_latency,
                    "--conn-bandwidth", self.h.args.origin_bandwidth]
        cmd += self.h.args.emu_arg
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.port = wait_port_file(self.proc, port_file, self.log, "s3emu")

    def stats(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/__stats", timeout=10) as r:
            return json.load(r)

    def wait_digests(self, timeout=300):
        """Digests are computed in the background at start-up; a request needing one waits, which
        would show up as time to first byte. Measure only once they are all ready."""
        deadline = time.time() + timeout
        while self.stats().get("sha224_pending", 0) > 0:
            if time.time() > deadline:
                raise ScenarioError(f"s3emu digests not ready after {timeout}s")
            time.sleep(0.1)

    def reset(self):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/__stats/reset", method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    def origin_body_bytes(self, name=None):
        s = self.stats()
        return s["objects"][name]["body_bytes"] if name else s["body_bytes"]

    def download(self, names, root):
        """Copies objects from the emulator into files under root (a docroot for nginx static):
        the same bytes the proxies serve. One keep-alive connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            for name in names:
                path = os.path.join(root, name)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                conn.request("GET", "/bench/" + name)
                r = conn.getresponse()
                if r.status != 200:
                    raise ScenarioError(f"s3emu GET {name}: {r.status}")
                with open(path + ".part", "wb") as f:
                    while True:
                        chunk = r.read(MiB)
                        if not chunk:
                            break
                        f.write(chunk)
                os.rename(path + ".part", path)
        finally:
            conn.close()

    def stop(self):
        stop_process(self.proc)


# ---------------------------------------------------------------- the targets

class Target:
    name = "?"
    kind = "?"  # "xs3lerator", "nginx", "nginx-static", "machine"

    def __init__(self, h, emu, workdir, name=None):
        self.h, self.emu, self.workdir = h, emu, workdir
        if name:
            self.name = name
        self.port = free_port()  # HTTP/1.1
        self.h2_port = self.port  # cleartext HTTP/2 (prior knowledge)
        self.proc = None
        self.log = os.path.join(workdir, f"{self.name}.log")

    def pids(self):
        return process_tree(self.proc.pid) if self.proc and self.proc.poll() is None else []

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        stop_process(self.proc)


class Xs3lerator(Target):
    """xs3lerator with the run's knobs; a variant adds its own arguments (xs3lerator-ttl:
    --metadata-ttl)."""
    name = kind = "xs3lerator"

    def __init__(self, h, emu, workdir, name=None, extra_args=(), binary=None):
        super().__init__(h, emu, workdir, name)
        self.extra_args = list(extra_args)
        self.binary = binary or h.args.xs3lerator
        self.cache_dir = os.path.join(self.workdir, "xs3-cache")
        self.admin_port = None
        self.started_at = None  # time.monotonic() just before exec

    def command(self, log_level="warn", admin_port=None):
        binary = self.binary
        a = self.h.knobs
        cmd = [binary, "--bind-ip", "127.0.0.1", "--port", str(self.port), "--bucket", "bench",
               "--s3-endpoint-url", f"http://127.0.0.1:{self.emu.port}", "--s3-force-path-style",
               "--region", "us-east-1", "--cache-dir", self.cache_dir,
               "--max-cache-size", self.h.args.max_cache_size, "--workers", str(a["workers"]),
               "--log-level", log_level]
        if admin_port:
            cmd += ["--admin-port", str(admin_port)]
        if a.get("chunk-size"):
            cmd += ["--chunk-size", a["chunk-size"]]
        if a.get("concurrency"):
            cmd += ["--max-concurrency", str(a["concurrency"])]
        if a.get("pipe-size"):
            cmd += ["--pipe-size", a["pipe-size"]]
        if a.get("splice-size"):
            cmd += ["--splice-size", a["splice-size"]]
        if a.get("direct-io") in (True, "true", "on", "yes", "1"):
            cmd += ["--direct-io"]
        # "{workdir}" in a variant's arguments is this run's own directory (removed with it), so
        # a variant can write files, e.g. --debug-trace {workdir}/trace.jsonl.
        extra = [x.replace("{workdir}", self.workdir) for x in self.extra_args]
        return cmd + extra + self.h.args.xs3_arg

    def start(self, log_level="warn", admin_port=None, wait=True):
        if not os.path.exists(self.binary):
            raise ScenarioError(f"binary not found: {self.binary}")
        os.makedirs(self.cache_dir, exist_ok=True)
        self.admin_port = admin_port
        cmd = self.command(log_level, admin_port)
        env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
        with open(self.log, "w") as log:
            self.started_at = time.monotonic()
            self.started_wall = time.time()
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)
        if wait:
            wait_port(self.port, self.proc, 15, self.name, self.log)


NGINX_MAIN = """\
{user}worker_processes {workers};
daemon off;
master_process on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    default_type application/octet-stream;
{http}
}}
"""

NGINX_PROXY = """\
    proxy_cache_path {prefix}/cache levels=1:2 keys_zone=bench:64m max_size={max_cache}
                     inactive=7d use_temp_path=off;
    upstream s3 {{
        server 127.0.0.1:{emu_port};
        keepalive 128;
    }}
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        location / {{
            slice {slice};
            proxy_cache bench;
            proxy_cache_key $uri$slice_range;
            proxy_set_header Range $slice_range;
            proxy_cache_valid 200 206 7d;
            proxy_cache_lock on;
            proxy_cache_lock_age 10m;
            proxy_cache_lock_timeout 10m;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering on;
            proxy_buffers 64 64k;
            proxy_pass http://s3/bench$uri;
            add_header X-Cache $upstream_cache_status;
        }}
    }}"""

# Static files: HTTP/1.1 on one port, cleartext HTTP/2 (prior knowledge, as h2load speaks it) on
# another (nginx 1.22 cannot serve both on one cleartext port). The h2 server has sendfile off:
# with it on, nginx 1.22's HTTP/2 measured here stalls ~40 ms per response at one stream per
# connection (92 req/s on 4 KiB files) and is ~1.5x slower at 8 streams, so "off" is nginx's
# best h2 configuration on this box and the fair peer.
NGINX_STATIC = """\
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        root {docroot};
        location / {{ }}
    }}"""
NGINX_STATIC_H2 = """
    server {{
        listen 127.0.0.1:{h2_port} http2 reuseport backlog=4096;
        sendfile off;
        root {docroot};
        location / {{ }}
    }}"""


def nginx_binary(h):
    binary = h.args.nginx
    path = shutil.which(binary) or (binary if os.path.exists(binary) else None)
    if not path:
        raise NotAvailable(f"nginx not found: {binary}")
    return path


def nginx_has_http2(h):
    p = subprocess.run([nginx_binary(h), "-V"], capture_output=True, text=True)
    return "--with-http_v2_module" in (p.stdout + p.stderr)


class NginxBase(Target):
    def launch(self, http_block):
        binary = nginx_binary(self.h)
        prefix = os.path.join(self.workdir, self.name)
        os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
        conf = NGINX_MAIN.format(user="user root root;\n" if os.geteuid() == 0 else "",
                                 workers=self.h.knobs["workers"], prefix=prefix,
                                 http=http_block.replace("{prefix}", prefix))
        path = os.path.join(prefix, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([binary, "-p", prefix, "-c", path, "-e",
                                          os.path.join(prefix, "error.log")],
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.log = os.path.join(prefix, "error.log")
        wait_port(self.port, self.proc, 10, "nginx", self.log)
        if self.h2_port != self.port:
            wait_port(self.h2_port, self.proc, 10, "nginx", self.log)


class Nginx(NginxBase):
    """nginx proxy_cache + slice in front of the emulator: the miss-path peer."""
    name = kind = "nginx"

    def start(self):
        slice_size = self.h.knobs.get("chunk-size") or self.h.args.nginx_slice
        block = NGINX_PROXY.format(
            prefix="{prefix}", emu_port=self.emu.port, port=self.port,
            slice=f"{max(1, parse_size(slice_size) // KiB)}k",
            max_cache=f"{max(1, parse_size(self.h.args.max_cache_size) // MiB)}m")
        self.launch(block)


class NginxStatic(NginxBase):
    """nginx serving a docroot of the emulator's bytes by sendfile: the HTTP/2 peer and the
    loopback probe's server. With http2=True a second port speaks cleartext HTTP/2."""
    kind = "nginx-static"

    def __init__(self, h, emu, workdir, name="nginx", docroot=None, http2=False):
        super().__init__(h, emu, workdir, name)
        self.docroot = docroot
        self.http2 = http2
        if http2:
            self.h2_port = free_port()

    def start(self):
        if self.http2 and not nginx_has_http2(self.h):
            raise NotAvailable("this nginx has no http_v2 module")
        block = NGINX_STATIC.format(port=self.port, docroot=self.docroot)
        if self.http2:
            block += NGINX_STATIC_H2.format(h2_port=self.h2_port, docroot=self.docroot)
        self.launch(block)


class Machine(Target):
    """Not a server: the machine-limit probe (scenario 8) measures the box itself."""
    name = kind = "machine"

    def start(self):
        pass

