"""The fleet: three proxies on this machine as members of one static fleet (and a DNS-sourced
one): membership, the owners of keys (checked against an independent transcription of the
rendezvous hash), health (kill -9 of a member: the others suspect it and take over its keys;
it comes back), /fleet and the metrics, and start-up errors."""

from __future__ import annotations

import re
import signal
import subprocess

import pytest

from e2e_util import clean_env, free_port, proxy_binary, wait_until
from fleet_util import FleetPorts, fleet_doc, metrics_text, owner, states

FAST = ["--peer-probe-interval", "200ms", "--peer-backoff", "600ms"]
KEYS = [f"data/shard-{i:03d}.tar" for i in range(60)]


def start_fleet(proxy_factory, bucket, n=3, extra=()):
    ports = FleetPorts(n)
    nodes = []
    for i in range(n):
        p = proxy_factory(bucket, start=False, workers=1,
                          extra_args=["--peers", ports.peers_arg, "--admin-port",
                                      str(ports.admin[i]), *FAST, *extra])
        p.fixed_port = ports.ports[i]
        p.start()
        nodes.append(p)
    # Members started before the others were up suspected them; the probes clear that.
    for i in range(n):
        wait_until(lambda i=i: set(states(ports.admin[i]).values()) == {"live"}, 15,
                   what=f"member {i} to see every member live")
    return ports, nodes


@pytest.mark.deadline(90)
def test_three_members_agree_on_every_owner(proxy_factory, bucket):
    ports, nodes = start_fleet(proxy_factory, bucket)
    ids = ports.ids
    for i in range(3):
        doc = fleet_doc(ports.admin[i])
        assert doc["self"] == ids[i]
        assert doc["source"] == "static"
        assert doc["live"] == 3
        assert [p["peer"] for p in doc["peers"]] == sorted(ids)
        assert [p["self"] for p in doc["peers"]] == [pid == ids[i] for pid in sorted(ids)]
    counts = {i: 0 for i in ids}
    for key in KEYS:
        expected = owner(ids, bucket.name, key)
        counts[expected] += 1
        for i in range(3):
            o = fleet_doc(ports.admin[i], f"key={key}")["object"]
            assert o == {"bucket": bucket.name, "key": key, "version": "", "owner": expected,
                         "owner_is_self": expected == ids[i], "owner_when_all_live": expected}
    assert all(c > 0 for c in counts.values()), counts
    # A version is part of the name placed on the ring.
    o = fleet_doc(ports.admin[0], f"key={KEYS[0]}&version=v7")["object"]
    assert o["owner"] == owner(ids, bucket.name, KEYS[0], "v7")
    assert o["version"] == "v7"
    # A bucket this node does not serve is refused.
    with pytest.raises(Exception) as e:
        fleet_doc(ports.admin[0], f"key=a&bucket=not-served-{bucket.name}")
    assert "400" in str(e.value)
    text = metrics_text(ports.admin[1])
    for pid in ids:
        assert f'xs3_fleet_peer_up{{peer="{pid}"}} 1\n' in text
    assert 'xs3_fleet_peers{state="live"} 3\n' in text
    probes = int(re.search(r"^xs3_fleet_probes_total (\d+)$", text, re.M).group(1))
    assert probes >= 2


@pytest.mark.deadline(90)
def test_a_killed_member_is_suspected_its_keys_move_and_come_back(proxy_factory, bucket):
    ports, nodes = start_fleet(proxy_factory, bucket)
    ids = ports.ids
    before = {k: owner(ids, bucket.name, k) for k in KEYS}
    dead = ids[2]
    nodes[2].stop(sig=signal.SIGKILL)
    for i in (0, 1):
        wait_until(lambda i=i: states(ports.admin[i])[dead] == "suspected", 10,
                   what=f"member {i} to suspect the killed one")
    survivors = ids[:2]
    moved = 0
    for key in KEYS:
        answers = [fleet_doc(ports.admin[i], f"key={key}")["object"] for i in (0, 1)]
        for a in answers:
            assert a["owner_when_all_live"] == before[key]
            if before[key] == dead:
                # Its keys go to the survivors' own rendezvous choice, the same on both.
                assert a["owner"] == owner(survivors, bucket.name, key)
            else:
                assert a["owner"] == before[key], "only the dead member's keys move"
        moved += before[key] == dead
    assert moved > 0
    doc = fleet_doc(ports.admin[0])
    dead_entry = next(p for p in doc["peers"] if p["peer"] == dead)
    assert dead_entry["failures"] >= 1
    # Refused once it is gone; a probe in flight when it died sees the reset or the close.
    err = dead_entry["last_error"]
    assert (err in ("connect: Connection refused", "timeout", "closed before answering")
            or err.startswith("recv: ") or err.startswith("send: ")), err
    assert doc["live"] == 2
    assert f'xs3_fleet_peer_up{{peer="{dead}"}} 0\n' in metrics_text(ports.admin[0])

    # Back on the same address: the next probe after its back-off finds it, its keys return.
    nodes[2].start()
    for i in (0, 1):
        wait_until(lambda i=i: states(ports.admin[i])[dead] == "live", 20,
                   what=f"member {i} to see the restarted one live")
    for key in KEYS[:20]:
        assert fleet_doc(ports.admin[0], f"key={key}")["object"]["owner"] == before[key]


@pytest.mark.deadline(60)
def test_members_from_dns(proxy_factory, bucket):
    port = free_port()
    admin = free_port()
    p = proxy_factory(bucket, start=False, workers=1,
                      extra_args=["--peers-dns", f"localhost:{port}", "--peer-self", "127.0.0.1",
                                  "--peers-dns-interval", "300ms", "--admin-port", str(admin)])
    p.fixed_port = port
    p.start()
    wait_until(lambda: fleet_doc(admin)["dns"]["lookups"] >= 2, 10, what="two DNS lookups")
    doc = fleet_doc(admin)
    assert doc["source"] == f"dns localhost:{port}"
    assert doc["dns"]["ok"] is True
    # localhost has an IPv4 and maybe an IPv6 record; only self's family counts.
    assert [m["peer"] for m in doc["peers"]] == [f"127.0.0.1:{port}"]
    assert doc["peers"][0]["self"] is True
    assert fleet_doc(admin, "key=a")["object"]["owner_is_self"] is True


def run_bad(args: list[str], tmp_path) -> tuple[int, str]:
    cmd = [str(proxy_binary()), "--bucket", "bkt", "--cache-dir", str(tmp_path / "c"),
           "--max-cache-size", "1GiB", "--anonymous", "--s3-endpoint-url", "http://127.0.0.1:9",
           "--bind-ip", "127.0.0.1", *args]
    r = subprocess.run(cmd, capture_output=True, timeout=30, env=clean_env())
    return r.returncode, r.stderr.decode()


@pytest.mark.parametrize("args, message", [
    (["--port", "18100", "--peers", "127.0.0.1:18101,127.0.0.1:18102"],
     "none of --peers is this node (a local address with port 18100); give --peer-self"),
    (["--port", "18100", "--peers", "127.0.0.1:18100,127.0.0.1:18101", "--peer-self",
      "127.0.0.1:18105"],
     "--peer-self 127.0.0.1:18105 is not in --peers"),
    (["--port", "18100", "--peers", "127.0.0.1:18100,no-such-host.invalid:18100"],
     "--peers: 'no-such-host.invalid' has no IPv4 or IPv6 address"),
    (["--peers-dns", "xs3.svc:8080"], "--peers-dns needs --peer-self"),
    (["--peers", "127.0.0.1:18100", "--peers-dns", "x:1"],
     "--peers and --peers-dns cannot both be set"),
])
def test_start_up_errors_name_the_option(tmp_path, args, message):
    rc, err = run_bad(args, tmp_path)
    assert rc == 2, err
    assert message in err


# --- the owner's side: who may send a peer fill -------------------------------------------------

import hashlib  # noqa: E402
import hmac  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402

from e2e_util import SMALL, build_request, url_path  # noqa: E402
from e2e_util import HttpConnection  # noqa: E402


def get_from(port: int, path: str, headers: dict, source_ip: str = "127.0.0.1"):
    """A GET to the proxy on 127.0.0.1 from `source_ip` (any 127/8 address is ours)."""
    conn = HttpConnection.__new__(HttpConnection)
    conn.sock = socket.create_connection(("127.0.0.1", port), timeout=15,
                                         source_address=(source_ip, 0))
    conn.sock.settimeout(15)
    conn.buf = b""
    conn.eof = False
    with conn:
        conn.send(build_request("GET", path, headers))
        return conn.read_response("GET")


def signed(token: str, hop: str, target: str, t: int | None = None) -> str:
    t = int(time.time()) if t is None else t
    msg = f"xs3-fleet-v1\n{hop}\nGET\n{target}\n{t}".encode()
    return f"t={t},sig=" + hmac.new(token.encode(), msg, hashlib.sha256).hexdigest()


def counter(admin: int, name: str) -> int:
    m = re.search(rf"^{name} (\d+)$", metrics_text(admin), re.M)
    return int(m.group(1)) if m else -1


@pytest.mark.deadline(90)
def test_hop_requests_are_honoured_only_from_members(proxy_factory, bucket):
    ports, nodes = start_fleet(proxy_factory, bucket, n=2)
    path = url_path(SMALL)
    hop = {"x-xs3-hop": ports.ids[1], "Range": "bytes=0-99"}
    # From a member's address (127.0.0.1): served, counted.
    r = get_from(ports.ports[0], path, hop)
    assert r.status == 206
    assert r.body == bucket[SMALL].data[:100]
    assert counter(ports.admin[0], "xs3_fleet_peer_requests_total") == 1
    # From an address no member has: refused, whatever it claims to be.
    r = get_from(ports.ports[0], path, hop, source_ip="127.0.0.9")
    assert r.status == 403
    assert b"<Code>AccessDenied</Code>" in r.body
    assert counter(ports.admin[0], "xs3_fleet_peer_requests_refused_total") == 1
    assert "peer request refused" in nodes[0].log_text()
    # The same request without the hop header is an ordinary client's.
    r = get_from(ports.ports[0], path, {"Range": "bytes=0-99"}, source_ip="127.0.0.9")
    assert r.status == 206
    # Probes reach /healthz from anywhere.
    r = get_from(ports.ports[0], "/healthz", {"x-xs3-hop": "probe"}, source_ip="127.0.0.9")
    assert r.status == 200
    # A trusted hop request is still confined to the served bucket: the path is a key in it.
    r = get_from(ports.ports[0], f"/not-served-{bucket.name}/x", hop)
    assert r.status == 404 and b"<Code>NoSuchKey</Code>" in r.body


@pytest.mark.deadline(90)
def test_with_a_fleet_token_the_signature_decides(proxy_factory, bucket, tmp_path):
    token = "fleet-secret-0123456789"
    conf = tmp_path / "fleet.toml"
    # With a bucket list (/<bucket>/<key>), to show a trusted peer cannot reach another bucket.
    conf.write_text(f'fleet_token = "{token}"\n[[buckets]]\nname = "{bucket.name}"\n')
    conf.chmod(0o600)
    ports, nodes = start_fleet(proxy_factory, bucket, n=2, extra=["--config", str(conf)])
    path = f"/{bucket.name}" + url_path(SMALL)
    base = {"x-xs3-hop": ports.ids[1], "Range": "bytes=0-9"}
    # A member's address is not enough any more.
    assert get_from(ports.ports[0], path, base).status == 403
    # A good signature is, from any address.
    good = dict(base, **{"x-xs3-fleet-auth": signed(token, ports.ids[1], path)})
    r = get_from(ports.ports[0], path, good, source_ip="127.0.0.9")
    assert r.status == 206 and r.body == bucket[SMALL].data[:10]
    for bad in (signed("another-token-0123456", ports.ids[1], path),  # wrong token
                signed(token, ports.ids[0], path),                    # another hop
                signed(token, ports.ids[1], "/other"),                # another target
                signed(token, ports.ids[1], path, int(time.time()) - 600),  # too old
                "t=1,sig=zz"):
        assert get_from(ports.ports[0], path, dict(base, **{"x-xs3-fleet-auth": bad})).status \
            == 403, bad
    assert counter(ports.admin[0], "xs3_fleet_peer_requests_total") == 1
    assert counter(ports.admin[0], "xs3_fleet_peer_requests_refused_total") == 6
    # Signed right, for a bucket this node does not serve: refused like any client's request.
    other = f"/not-{bucket.name}/x.bin"
    r = get_from(ports.ports[0], other,
                 dict(base, **{"x-xs3-fleet-auth": signed(token, ports.ids[1], other)}))
    assert r.status == 403 and b"<Code>AccessDenied</Code>" in r.body
    assert counter(ports.admin[0], "xs3_fleet_peer_requests_total") == 2
    # The members probe each other with signed probes: they see each other live.
    assert set(states(ports.admin[0]).values()) == {"live"}
    assert token not in nodes[0].log_text()


def test_a_node_without_a_fleet_refuses_hop_requests(proxy, bucket):
    r = proxy.get(url_path(SMALL), {"x-xs3-hop": "10.0.0.1:8080"})
    assert r.status == 403
    # The log line may be written just after the answer is read.
    wait_until(lambda: "this node is not in a fleet" in proxy.log_text(), 10,
               what="the refusal's log line")
