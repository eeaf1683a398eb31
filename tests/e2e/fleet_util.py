"""Helpers for fleet tests: a fleet of proxies on this machine, /fleet, and an independent
transcription of the rendezvous hash (so the proxies' choice of owners is checked against the
protocol's definition, not against themselves)."""

from __future__ import annotations

import json
import urllib.request

from e2e_util import free_port

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
