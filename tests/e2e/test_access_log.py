"""--access-log: one line per request when its answer is over, whatever --log-level says, with the
client, method, target, range, status, x-cache, bytes sent, time and how it ended; over HTTP/1.1
and HTTP/2, for answers that complete, are cut, or are abandoned by the client."""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import time

from e2e_util import Emulator, wait_until
from test_miss_path import MiB, fetch, proxy_for, read_a_little_then_leave


def access_lines(p) -> list[dict]:
    out = []
    for line in p.log_text().splitlines():
        if ' msg=access ' not in line and ' msg="access" ' not in line:
            continue
        fields = {}
        for tok in shlex.split(line):
            k, _, v = tok.partition("=")
            fields[k] = v
        if fields.get("target") != "/healthz":  # the fixture's readiness probes
            out.append(fields)
    return out


def wait_lines(p, n: int) -> list[dict]:
    return wait_until(lambda: (lambda ls: ls if len(ls) >= n else None)(access_lines(p)), 10,
                      what=f"{n} access lines")


def test_access_log_lines_for_h1_and_h2(emulator_factory, proxy_factory, tmp_path):
    emu = emulator_factory(["name=a.bin,size=300000,seed=60", "name=slow.bin,size=8MiB,seed=61"],
                           args=["--conn-bandwidth", "4MB"])
    # warn: the access log does not depend on the log level.
    p = proxy_for(proxy_factory, emu, ["--access-log", "--log-level", "warn"])
    started = time.monotonic()
    miss = fetch(p.port, "/a.bin?x-id=GetObject")
    assert miss.status == 200 and miss.complete
    lines = wait_lines(p, 1)
    # The proxy's clock stops when its last send completes, which can come after the client has
    # read the bytes (a loaded machine handles the completion later), but never after the line
    # is in the log.
    elapsed_ms = (time.monotonic() - started) * 1000
    first = lines[0]
    assert (first["method"], first["target"], first["status"], first["cache"],
            first["outcome"], first["proto"]) == ("GET", "/a.bin?x-id=GetObject", "200", "MISS",
                                                 "complete", "h1")
    assert first["request_id"] == miss.headers["x-amz-request-id"]
    assert re.fullmatch(r"[0-9A-F]{16}", first["request_id"])
    assert first["range"] == "-"
    assert int(first["sent"]) > 300000  # head and body
    assert re.fullmatch(r"127\.0\.0\.1:\d+", first["client"])
    # The time from the request to the answer's end: the origin sends the 300000 bytes at 4 MB/s
    # (at least 75 ms), and the line was logged within elapsed_ms of the request.
    assert re.fullmatch(r"\d+(\.\d+)?", first["ms"]), first["ms"]
    assert 60 <= float(first["ms"]) <= elapsed_ms + 1
    wait_until(lambda: len(p.cache_files()) == 1, 10, what="publish")

    ranged = fetch(p.port, "/a.bin", {"Range": "bytes=10-19"})
    assert ranged.status == 206
    missing = fetch(p.port, "/nope.bin")
    assert missing.status == 404
    with socket.create_connection(("127.0.0.1", p.port), timeout=10) as s:
        s.sendall(b"GET /a.bin HTTP/1.1\r\nHost x\r\n\r\n")  # no colon: 400
        answer = b""
        while chunk := s.recv(65536):  # to the server's close: the answer is complete
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 400")
    r = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-o", str(tmp_path / "b"),
                        f"http://127.0.0.1:{p.port}/a.bin"], capture_output=True, timeout=30)
    assert r.returncode == 0 and (tmp_path / "b").stat().st_size == 300000
    read_a_little_then_leave(p.port, "/slow.bin")

    lines = wait_lines(p, 6)
    by_target = {}
    for line in lines[1:]:
        by_target.setdefault((line["proto"], line["target"]), []).append(line)
    rng = by_target[("h1", "/a.bin")][0]
    assert (rng["status"], rng["cache"], rng["range"], rng["outcome"]) == ("206", "HIT",
                                                                           "bytes=10-19",
                                                                           "complete")
    nope = by_target[("h1", "/nope.bin")][0]
    assert (nope["status"], nope["outcome"]) == ("404", "complete")
    assert nope["request_id"] == missing.headers["x-amz-request-id"]
    assert f"<RequestId>{nope['request_id']}</RequestId>".encode() in missing.body
    # A request the parser refused says what it had read of it.
    bad = [line for line in lines if line["status"] == "400"][0]
    assert (bad["method"], bad["target"], bad["outcome"]) == ("GET", "/a.bin", "complete")
    assert re.fullmatch(r"[0-9A-F]{16}", bad["request_id"])
    h2 = by_target[("h2", "/a.bin")][0]
    assert (h2["status"], h2["cache"], h2["outcome"]) == ("200", "HIT", "complete")
    assert int(h2["sent"]) == 300000  # DATA payload
    for line in lines:
        assert re.fullmatch(r"127\.0\.0\.1:\d+", line["client"]), line
    ids = [line["request_id"] for line in lines]
    assert len(set(ids)) == len(ids), "request ids are unique"
    slow = by_target[("h1", "/slow.bin")][0]
    assert slow["status"] == "200" and slow["outcome"] == "aborted"
    assert 100000 <= int(slow["sent"]) < 8 * MiB


def test_no_access_log_by_default(emulator_factory, proxy_factory):
    emu = emulator_factory(["name=q.bin,size=1000,seed=62"])
    p = proxy_for(proxy_factory, emu)
    assert fetch(p.port, "/q.bin").status == 200
    assert access_lines(p) == []
