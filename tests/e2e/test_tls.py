"""HTTPS to the origin: the emulator behind an nginx TLS terminator with a certificate from a
private CA made for the test. With --ca-bundle naming that CA the proxy fetches and caches
byte-exact; without it, certificate verification (on by default) refuses the origin and the
client gets a clear 502, never bytes from an unverified server."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from e2e_util import Emulator, free_port, wait_until
from test_miss_path import CHUNK_ARGS, fetch

pytestmark = pytest.mark.skipif(not shutil.which("nginx") or not shutil.which("openssl"),
                                reason="needs nginx and openssl (scripts/setup-debian.sh)")


def make_ca_and_cert(d: Path) -> tuple[Path, Path, Path]:
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d, timeout=60)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=xs3 test CA",
        "-keyout", "ca.key", "-out", "ca.pem")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "srv.key",
        "-out", "srv.csr")
    (d / "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "ext.cnf", "-out", "srv.pem")
    return d / "ca.pem", d / "srv.pem", d / "srv.key"


@pytest.fixture
def tls_origin(emulator_factory, tmp_path):
    emu = emulator_factory(["name=t.bin,size=3000000,seed=70"])
    d = tmp_path / "tls"
    d.mkdir()
    ca, cert, key = make_ca_and_cert(d)
    port = free_port()
    temp = {n: d / n for n in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for p in temp.values():
        p.mkdir()
    (d / "nginx.conf").write_text(f"""
daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {temp['body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{
            proxy_pass http://127.0.0.1:{emu.port};
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Connection "";
            proxy_buffering off;
        }}
    }}
}}
""")
    proc = subprocess.Popen(["nginx", "-c", str(d / "nginx.conf"), "-p", str(d)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def up():
            r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                "--cacert", str(ca), f"https://localhost:{port}/"],
                               capture_output=True, text=True, timeout=10)
            return r.stdout not in ("", "000")
        wait_until(up, 10, what="nginx with TLS")
        yield emu, f"https://localhost:{port}", ca
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_https_origin_with_a_private_ca(tls_origin, proxy_factory):
    emu, endpoint, ca = tls_origin
    p = proxy_factory(Emulator.BUCKET, endpoint=endpoint,
                      extra_args=[*CHUNK_ARGS, "--ca-bundle", str(ca)])
    cold = fetch(p.port, "/t.bin")
    assert cold.status == 200 and cold.complete and cold.headers["x-cache"] == "MISS"
    emu.verify("t.bin", 70, cold.body, size=3000000)
    wait_until(lambda: len(p.cache_files()) == 1, 10, what="publish")
    ranged = fetch(p.port, "/t.bin", {"Range": "bytes=100-199"})
    assert ranged.status == 206 and ranged.headers["x-cache"] == "HIT"
    emu.verify("t.bin", 70, ranged.body, offset=100)
    assert emu.object_stats("t.bin")["body_bytes"] == 3000000


def test_https_origin_with_an_unknown_ca_is_refused(tls_origin, proxy_factory):
    emu, endpoint, _ = tls_origin
    p = proxy_factory(Emulator.BUCKET, endpoint=endpoint,
                      extra_args=[*CHUNK_ARGS, "--max-attempts", "1", "--chunk-retries", "0"])
    r = fetch(p.port, "/t.bin")
    assert r.status == 502 and r.body.startswith(b"<?xml")
    assert emu.object_stats("t.bin")["body_bytes"] == 0
    wait_until(lambda: "certificate" in p.log_text().lower(), 10,
               what="the certificate error in the log")
    assert p.cache_files() == []
