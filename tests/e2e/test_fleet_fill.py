"""Peer fill: a fleet of three proxies on this machine in front of one origin that counts the
bytes it sends (s3rver's /__stats). Clients spread over the nodes read cold objects at once: the
origin sends each object's bytes exactly once (the owner's fetch, streamed to the other nodes),
every client gets the right bytes, and each node then holds its own copy (hits, no peer traffic).
Killing an owner with SIGKILL in the middle of such a read costs nothing but S3 bytes: every
client of the survivors gets the right bytes, and the survivors take over the dead node's keys.
A peer that answers another version or garbage (a fake peer in Python) is never served."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import socketserver
import threading
import time

import pytest

from e2e_util import HttpConnection, free_port, url_path, wait_until
from fleet_util import (FleetPorts, counter, fleet_doc, owner, start_fleet, states,
                        wait_scanned)

MiB = 1 << 20
CHUNKS = ["--chunk-size", "1MiB", "--min-chunk-size", "1MiB"]
# Generous for a loaded CI box: a fallback, or a member suspected because its /healthz answer
# was late, would make the exact byte counts below fail.
PATIENT = ["--peer-timeout", "60s", "--peer-probe-timeout", "20s"]


def get(port: int, key: str, headers: dict | None = None, timeout: float = 60.0):
    with HttpConnection(port, timeout=timeout) as c:
        return c.request("GET", url_path(key), headers or {})


def read_all_at_once(jobs):
    """Runs every (port, key) GET at the same moment; returns the responses (or exceptions)."""
    results = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def run(i, port, key):
        barrier.wait()
        try:
            results[i] = get(port, key)
        except Exception as e:  # noqa: BLE001 - reported by the caller
            results[i] = e

    threads = [threading.Thread(target=run, args=(i, p, k)) for i, (p, k) in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def peer_metrics(admin: int) -> dict[str, int]:
    names = ["xs3_origin_bytes_total", "xs3_peer_bytes_total",
             "xs3_fleet_peer_fill_attempts_total", "xs3_fleet_peer_fill_fallbacks_total",
             "xs3_fleet_peer_fill_wrong_version_total",
             "xs3_fleet_peer_requests_total", "xs3_downloads_published_total"]
    return {n: counter(admin, n) for n in names}


@pytest.fixture(scope="module")
def cold(make_bucket):
    """Ten objects of 2 MiB and a bit (three chunks each) that no proxy has seen."""
    b = make_bucket("fleet-fill")
    for i in range(10):
        b.put(f"cold/obj-{i:02d}.bin", os.urandom(2 * MiB + 1000 + i), with_sha224=(i % 2 == 0))
    return b


@pytest.mark.deadline(180)
def test_thirty_clients_on_three_nodes_the_origin_sends_each_object_once(
        proxy_factory, cold, origin):
    # Probes with 1 s to answer: 30 clients on a loaded box must not make members suspect each
    # other (the owners would move, and the counts with them).
    ports, nodes = start_fleet(proxy_factory, cold, extra=[*CHUNKS, *PATIENT], probe="1s")
    ids = ports.ids
    keys = sorted(cold.objects)
    origin.reset_stats()
    # Client i reads object i % 10 from node i % 3: every object is read on every node.
    jobs = [(ports.ports[i % 3], keys[i % 10]) for i in range(30)]
    results = read_all_at_once(jobs)
    for i, r in enumerate(results):
        node, key = i % 3, keys[i % 10]
        assert not isinstance(r, Exception), (i, r)
        assert r.status == 200, (i, r.status, r.body[:300])
        assert hashlib.sha256(r.body).hexdigest() == cold[key].sha256, (i, key)
        owns = owner(ids, cold.name, key) == ids[node]
        # The owner's clients read its own fill; the others' bytes came from the owner.
        assert r.header("x-cache") in (("MISS", "HIT") if owns else ("MISS-PEER",)), \
            (i, key, owns, r.header("x-cache"))
    # The origin sent every object's bytes exactly once.
    for key in keys:
        st = cold.key_stats(key)
        assert st["bytes_sent"] == cold[key].size, (key, st)
    # Each node: S3 bytes for the objects it owns, peer bytes for the others, no fallback.
    for n in range(3):
        wait_until(lambda n=n: counter(ports.admin[n], "xs3_downloads_published_total") == 10, 30,
                   what=f"node {n} to publish every object")
        m = peer_metrics(ports.admin[n])
        owned = [k for k in keys if owner(ids, cold.name, k) == ids[n]]
        others = [k for k in keys if k not in owned]
        assert m["xs3_origin_bytes_total"] == sum(cold[k].size for k in owned), (n, m)
        assert m["xs3_peer_bytes_total"] == sum(cold[k].size for k in others), (n, m)
        assert m["xs3_fleet_peer_fill_fallbacks_total"] == 0, (n, m)
        assert m["xs3_fleet_peer_fill_attempts_total"] >= 3 * len(others), (n, m)
    # Every node now has its own copy: hits, and nobody asks a peer or the origin again.
    before = [peer_metrics(a) for a in ports.admin]
    origin.reset_stats()
    for n in range(3):
        for key in keys:
            r = get(ports.ports[n], key)
            assert r.status == 200 and r.header("x-cache") == "HIT", (n, key, r.header("x-cache"))
            assert hashlib.sha256(r.body).hexdigest() == cold[key].sha256
    for n in range(3):
        after = peer_metrics(ports.admin[n])
        for name in ("xs3_fleet_peer_fill_attempts_total", "xs3_fleet_peer_requests_total",
                     "xs3_origin_bytes_total", "xs3_peer_bytes_total"):
            assert after[name] == before[n][name], (n, name, before[n], after)
    assert all(cold.key_stats(k)["bytes_sent"] == 0 for k in keys)


@pytest.mark.deadline(180)
def test_killing_the_owner_mid_read_every_client_still_gets_the_right_bytes(
        proxy_factory, make_bucket, origin):
    b = make_bucket("fleet-kill")
    ports = FleetPorts(3)
    ids = ports.ids
    dead = ids[2]
    # Objects the node about to die owns (when all three are live).
    keys, i = [], 0
    while len(keys) < 4:
        k = f"kill/obj-{i:03d}.bin"
        if owner(ids, b.name, k) == dead:
            keys.append(k)
        i += 1
    for k in keys:
        b.put(k, os.urandom(6 * MiB + 333))
    survivors_key = keys[3]  # read only after the kill
    ports, nodes = start_fleet(proxy_factory, b, ports=ports, probe="1s",
                               extra=[*CHUNKS, "--peer-timeout", "10s",
                                      "--peer-probe-timeout", "20s"])
    # Slow enough that the kill lands mid-read: ~3 s per 1 MiB chunk GET.
    origin.control(throttle_bytes_per_sec=350_000)
    jobs = [(ports.ports[n], k) for k in keys[:3] for n in (0, 1)]
    results = [None] * len(jobs)

    def run(i, port, key):
        try:
            results[i] = get(port, key, timeout=90)
        except Exception as e:  # noqa: BLE001
            results[i] = e

    threads = [threading.Thread(target=run, args=(i, p, k)) for i, (p, k) in enumerate(jobs)]
    for t in threads:
        t.start()
    # Both survivors are reading from the owner: kill it.
    wait_until(lambda: all(counter(ports.admin[n], "xs3_fleet_peer_fill_attempts_total") >= 3
                           for n in (0, 1)), 30, what="the survivors to ask the owner")
    time.sleep(0.5)
    nodes[2].stop(sig=signal.SIGKILL)
    killed_at = time.monotonic()
    origin.control(throttle_bytes_per_sec=0)
    for t in threads:
        t.join(120)
    for i, r in enumerate(results):
        assert not isinstance(r, Exception), (jobs[i], r)
        assert r.status == 200, (jobs[i], r.status)
        assert hashlib.sha256(r.body).hexdigest() == b[jobs[i][1]].sha256, jobs[i]
    # Within the transfer timeouts: a fallback is immediate (the owner's sockets reset).
    assert time.monotonic() - killed_at < 60
    for n in (0, 1):
        assert counter(ports.admin[n], "xs3_fleet_peer_fill_fallbacks_total") >= 1
        assert states(ports.admin[n])[dead] == "suspected"
    # The survivors take over its keys: one of them owns the next object, fetches it once,
    # and the other fills from it.
    live = ids[:2]
    new_owner = owner(live, b.name, survivors_key)
    for n in (0, 1):
        assert fleet_doc(ports.admin[n], f"key={survivors_key}")["object"]["owner"] == new_owner
    origin.reset_stats()
    before = [counter(ports.admin[n], "xs3_fleet_peer_fill_fallbacks_total") for n in (0, 1)]
    rs = read_all_at_once([(ports.ports[0], survivors_key), (ports.ports[1], survivors_key)])
    for r in rs:
        assert not isinstance(r, Exception) and r.status == 200, r
        assert hashlib.sha256(r.body).hexdigest() == b[survivors_key].sha256
    assert b.key_stats(survivors_key)["bytes_sent"] == b[survivors_key].size
    other = 1 - ids.index(new_owner)
    assert rs[other].header("x-cache") == "MISS-PEER"
    assert [counter(ports.admin[n], "xs3_fleet_peer_fill_fallbacks_total") for n in (0, 1)] \
        == before


# --- a fake peer --------------------------------------------------------------------------------


class FakePeer:
    """A member that answers /healthz (so it is live) and object GETs the way `mode` says.
    `objects` maps request paths to (data, etag); it counts the object GETs it answered."""

    def __init__(self, port: int):
        self.port = port
        self.mode = "other-etag"
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.object_gets: list[tuple[str, str, bool]] = []  # (mode, range, had If-Match)
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = self.request.recv(65536)
                    if not chunk:
                        return
                    head += chunk
                lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
                target = lines[0].split(" ")[1]
                hdrs = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    hdrs[name.strip().lower()] = value.strip()
                fake.answer(self.request, target, hdrs)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def answer(self, sock: socket.socket, target: str, hdrs: dict[str, str]):
        if target == "/healthz":
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
            return
        data, etag = self.objects[target.split("?")[0]]
        first, last = (int(x) for x in hdrs["range"].split("=")[1].split("-"))
        last = min(last, len(data) - 1)
        if_match = "if-match" in hdrs
        self.object_gets.append((self.mode, hdrs["range"], if_match))
        size = len(data)
        good = data[first:last + 1]
        junk = bytes((x ^ 0x5A) for x in good)

        def respond(body: bytes, etag_value: str, content_range: str, length: int | None = None):
            length = len(body) if length is None else length
            sock.sendall((f"HTTP/1.1 206 Partial Content\r\nContent-Range: {content_range}\r\n"
                          f"ETag: {etag_value}\r\nContent-Length: {length}\r\n"
                          f"Content-Type: application/octet-stream\r\n"
                          f"Connection: close\r\n\r\n").encode() + body)

        cr = f"bytes {first}-{last}/{size}"
        if self.mode == "other-etag":
            # The probe (no If-Match) is answered right; every chunk after it with another
            # version's ETag and other bytes.
            if if_match:
                respond(junk, '"00000000000000000000000000000000"', cr)
            else:
                respond(good, etag, cr)
        elif self.mode == "not-http":
            sock.sendall(b"\x00\x01garbage that is not HTTP at all\r\n\r\n" + junk[:5000])
        elif self.mode == "wrong-range":
            respond(junk, etag, f"bytes {first + 1}-{last + 1}/{size}")
        elif self.mode == "too-long":
            # Right head, then more body than the range (no Content-Length: read to close).
            sock.sendall((f"HTTP/1.1 206 Partial Content\r\nContent-Range: {cr}\r\n"
                          f"ETag: {etag}\r\nConnection: close\r\n\r\n").encode() + good + junk)
        elif self.mode == "short":
            # The right bytes, but only half of them: the rest must come from S3.
            respond(good[:len(good) // 2], etag, cr, length=len(good))
        else:
            raise AssertionError(self.mode)


@pytest.mark.deadline(150)
@pytest.mark.parametrize("mode", ["other-etag", "not-http", "wrong-range", "too-long", "short"])
def test_a_peer_answering_another_version_or_garbage_is_never_served(
        proxy_factory, make_bucket, origin, mode):
    b = make_bucket(f"fleet-fake-{mode}")
    fake_port, node_port, admin = free_port(), free_port(), free_port()
    fake_id, node_id = f"127.0.0.1:{fake_port}", f"127.0.0.1:{node_port}"
    members = [node_id, fake_id]
    # A key the fake owns.
    key = next(k for k in (f"fake/obj-{i}.bin" for i in range(100))
               if owner(members, b.name, k) == fake_id)
    obj = b.put(key, os.urandom(3 * MiB + 77))
    fake = FakePeer(fake_port)
    try:
        fake.objects[f"/{b.name}" + url_path(key)] = (obj.data, obj.etag)
        p = proxy_factory(b, start=False, workers=1,
                          extra_args=["--peers", ",".join(members), "--admin-port", str(admin),
                                      "--peer-probe-interval", "1s", "--peer-backoff", "600ms",
                                      *CHUNKS, "--peer-timeout", "5s"])
        p.fixed_port = node_port
        p.start()
        wait_until(lambda: states(admin).get(fake_id) == "live", 15, what="the fake to be live")
        wait_scanned(admin)
        fake.mode = mode
        r = get(node_port, key)
        assert r.status == 200, (r.status, r.body[:300])
        assert len(r.body) == obj.size
        assert hashlib.sha256(r.body).hexdigest() == obj.sha256
        # The fake was asked (the test reached it), and what it sent was not kept.
        assert fake.object_gets, "the node never asked the fake peer"
        assert counter(admin, "xs3_fleet_peer_fill_fallbacks_total") >= 1
        if mode == "other-etag":
            # Its probe answer was right: the object is a peer fill, the chunks came from S3.
            assert r.header("x-cache") == "MISS-PEER"
            assert counter(admin, "xs3_fleet_peer_fill_wrong_version_total") >= 1
            # Another version is not a sick peer.
            assert states(admin)[fake_id] == "live"
        else:
            assert counter(admin, "xs3_fleet_peer_fill_wrong_version_total") == 0
        if mode in ("not-http", "wrong-range"):
            assert r.header("x-cache") == "MISS"  # the probe itself fell back to S3
            assert counter(admin, "xs3_peer_bytes_total") == 0
        else:
            assert r.header("x-cache") == "MISS-PEER"  # the probe's head was right
        # The cached copy is the right one too.
        wait_until(lambda: counter(admin, "xs3_downloads_published_total") == 1, 30,
                   what="the download to be published")
        r2 = get(node_port, key)
        assert r2.header("x-cache") == "HIT"
        assert hashlib.sha256(r2.body).hexdigest() == obj.sha256
        # Everything the fake did not deliver, S3 did: exactly once.
        assert counter(admin, "xs3_origin_bytes_total") + counter(admin, "xs3_peer_bytes_total") \
            >= obj.size
    finally:
        fake.stop()


@pytest.mark.deadline(120)
def test_peer_fill_with_a_fleet_token_from_a_file(proxy_factory, make_bucket, origin, tmp_path):
    """The asking node signs its chunk GETs; the owner honours them (and only signed ones)."""
    b = make_bucket("fleet-token")
    token_file = tmp_path / "fleet-token"
    token_file.write_text("a-fleet-secret-0123456789\n")
    ports = FleetPorts(2)
    key = next(k for k in (f"signed/obj-{i}.bin" for i in range(100))
               if owner(ports.ids, b.name, k) == ports.ids[1])
    obj = b.put(key, os.urandom(2 * MiB + 5))
    ports, nodes = start_fleet(proxy_factory, b, n=2, ports=ports, probe="1s",
                               extra=[*CHUNKS, *PATIENT, "--fleet-token-file", str(token_file)])
    origin.reset_stats()
    r = get(ports.ports[0], key)
    assert r.status == 200 and r.header("x-cache") == "MISS-PEER"
    assert hashlib.sha256(r.body).hexdigest() == obj.sha256
    assert b.key_stats(key)["bytes_sent"] == obj.size
    assert counter(ports.admin[1], "xs3_fleet_peer_requests_total") == 3  # one per chunk
    assert counter(ports.admin[1], "xs3_fleet_peer_requests_refused_total") == 0
    assert counter(ports.admin[0], "xs3_peer_bytes_total") == obj.size
    # Unsigned, the same hop request from a member's address is refused: the token decides.
    r = get(ports.ports[1], key, {"x-xs3-hop": ports.ids[0], "Range": "bytes=0-9"})
    assert r.status == 403
    assert "a-fleet-secret" not in nodes[0].log_text() + nodes[1].log_text()
