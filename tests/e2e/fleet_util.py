"""Helpers for fleet tests: a fleet of proxies on this machine, /fleet, and an independent
transcription of the rendezvous hash (so the proxies' choice of owners is checked against the
protocol's definition, not against themselves)."""

from __future__ import annotations

import json
import urllib.request

import re

from e2e_util import free_port, wait_until

M64 = (1 << 64) - 1


def _fmix64(k: int) -> int:
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & M64
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & M64
    k ^= k >> 33
    return k


def hash64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for c in data:
        h ^= c
        h = (h * 0x100000001B3) & M64
    return _fmix64(h)


def weight(key_hash: int, peer_hash: int) -> int:
    return _fmix64(key_hash ^ ((peer_hash * 0x9E3779B97F4A7C15) & M64))


def ring_key(bucket: str, key: str, version: str = "") -> bytes:
    return bucket.encode() + b"\0" + key.encode() + b"\0" + version.encode()


def owner(members: list[str], bucket: str, key: str, version: str = "") -> str:
    k = hash64(ring_key(bucket, key, version))
    return max(sorted(members), key=lambda m: (weight(k, hash64(m.encode())), [-ord(c) for c in m]))


def fleet_doc(admin_port: int, query: str = "") -> dict:
    url = f"http://127.0.0.1:{admin_port}/fleet" + (f"?{query}" if query else "")
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def metrics_text(admin_port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=10) as r:
        return r.read().decode()


def states(admin_port: int) -> dict[str, str]:
    return {p["peer"]: p["state"] for p in fleet_doc(admin_port)["peers"]}


class FleetPorts:
    """Proxy and admin ports for n members, chosen before any of them starts."""

    def __init__(self, n: int):
        self.ports = [free_port() for _ in range(n)]
        self.admin = [free_port() for _ in range(n)]

    @property
    def ids(self) -> list[str]:
        return [f"127.0.0.1:{p}" for p in self.ports]

    @property
    def peers_arg(self) -> str:
        return ",".join(self.ids)


FAST = ["--peer-probe-interval", "200ms", "--peer-backoff", "600ms"]


def start_fleet(proxy_factory, bucket, n=3, extra=(), ports=None, workers=1, probe="200ms"):
    """n proxies, members of one static fleet, each seeing every member live, with its start-up
    scan over (until then a miss starts with a HEAD). A probe times out after min(1s, probe)
    unless --peer-probe-timeout says otherwise: under load, a short one can make members
    suspect each other."""
    ports = ports or FleetPorts(n)
    nodes = []
    for i in range(n):
        p = proxy_factory(bucket, start=False, workers=workers,
                          extra_args=["--peers", ports.peers_arg, "--admin-port",
                                      str(ports.admin[i]), "--peer-probe-interval", probe,
                                      "--peer-backoff", "600ms", *extra])
        p.fixed_port = ports.ports[i]
        p.start()
        nodes.append(p)
    # Members started before the others were up suspected them; the probes clear that.
    for i in range(n):
        wait_until(lambda i=i: set(states(ports.admin[i]).values()) == {"live"}, 20,
                   what=f"member {i} to see every member live")
        wait_scanned(ports.admin[i])
    return ports, nodes


def wait_scanned(admin: int) -> None:
    wait_until(lambda: 'xs3_cache_scan_state{state="done"} 1\n' in metrics_text(admin), 15,
               what="the start-up scan to finish")


def counter(admin: int, name: str) -> int:
    """A metric's value (0 when absent: counters start at 0)."""
    m = re.search(rf"^{name} (\d+)$", metrics_text(admin), re.M)
    return int(m.group(1)) if m else 0
