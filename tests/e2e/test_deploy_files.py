"""The files in deploy/ run the real binary: every xs3lerator flag and XS3_* variable they (and the
README) name is one `--help` lists, and the Kubernetes manifest's configuration starts a proxy
whose probes, scrape port and fleet settings are what the manifest says. A renamed option or a
configuration key the binary refuses then fails here, not on a node."""

from __future__ import annotations

import re
import shlex
import subprocess
import time
import urllib.request

import pytest
import yaml

from e2e_util import REPO_ROOT, clean_env, free_port, proxy_binary

DEPLOY = REPO_ROOT / "deploy"


def help_text() -> str:
    r = subprocess.run([str(proxy_binary()), "--help"], capture_output=True, text=True,
                       timeout=15, stdin=subprocess.DEVNULL, env=clean_env())
    assert r.returncode == 0, r.stderr
    return r.stdout


def help_options(text: str) -> tuple[set[str], set[str], set[str]]:
    """(--flags, XS3_* variables, TOML keys) that --help lists."""
    flags = set(re.findall(r"^\s+(--[a-z0-9-]+)", text, re.M))
    envs = set(re.findall(r"\[env: (XS3_[A-Z0-9_]+)\]", text))
    keys = set(re.findall(r"\[toml: ([a-z0-9_]+)\]", text))
    return flags, envs, keys


def manifest() -> list[dict]:
    return [d for d in yaml.safe_load_all((DEPLOY / "kubernetes" / "xs3lerator.yaml").read_text())
            if d]


def of_kind(kind: str) -> dict:
    docs = [d for d in manifest() if d["kind"] == kind]
    assert len(docs) == 1, [d["kind"] for d in manifest()]
    return docs[0]


def container() -> dict:
    return of_kind("DaemonSet")["spec"]["template"]["spec"]["containers"][0]


def xs3_commands() -> list[tuple[str, list[str]]]:
    """Every xs3lerator command line in deploy/: (where, arguments after the program)."""
    out = [("kubernetes args", list(container()["args"]))]
    unit = (DEPLOY / "systemd" / "xs3lerator.service").read_text()
    for line in unit.splitlines():
        if line.startswith("ExecStart="):
            out.append(("systemd ExecStart", shlex.split(line.split("=", 1)[1])[1:]))
    # The Containerfile's `docker run ... xs3lerator --bucket ...` (the image's entry point is the
    # binary, so what follows the image name are the proxy's arguments).
    text = (DEPLOY / "container" / "Containerfile").read_text()
    run = re.search(r"docker run (.*?)(?:\n#\n|\n[^#])", text, re.S)
    assert run, "the Containerfile shows no docker run"
    words = shlex.split(run.group(1).replace("\\\n#", " "))
    out.append(("Containerfile docker run", words[words.index("xs3lerator") + 1:]))
    assert all(args for _, args in out), out
    return out


def test_every_flag_and_variable_the_docs_name_is_an_option():
    flags, envs, _ = help_options(help_text())
    assert "--peers-dns" in flags and "XS3_PEER_SELF" in envs  # the help parse found something
    for where, args in xs3_commands():
        for word in args:
            if word.startswith("--"):
                assert word.split("=", 1)[0] in flags, f"{where}: {word} is not an option"
    texts = {p.relative_to(REPO_ROOT).as_posix(): p.read_text()
             for p in [*DEPLOY.rglob("*"), REPO_ROOT / "README.md"] if p.is_file()}
    for name, text in texts.items():
        for var in set(re.findall(r"\bXS3_[A-Z0-9_]+\b", text)):
            # The test and demo scripts' knobs are not the proxy's.
            if var in ("XS3_BINARY", "XS3_TIMELINE_PNG", "XS3_FUZZ_SECONDS") or \
                    var.startswith(("XS3_DEMO_", "XS3_FAULT_MATRIX", "XS3_SOAK_")):
                continue
            assert var in envs, f"{name} names {var}, which --help does not list"
    env_names = [e["name"] for e in container().get("env", [])]
    assert all(n in envs for n in env_names if n.startswith("XS3_")), env_names


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.mark.deadline(60)
def test_the_kubernetes_manifest_starts_a_proxy(tmp_path, s3_origin):
    cm = of_kind("ConfigMap")
    toml = cm["data"]["xs3lerator.toml"]
    c = container()
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    # The manifest's own consistency: args name the mounted file, the probes and the scrape
    # annotation go to the admin port the file opens, the fleet token file is the mounted Secret.
    assert c["args"] == ["--config", mounts["config"] + "/xs3lerator.toml"]
    settings = dict(re.findall(r'^(\w+) = "?([^"\n]*)"?$', toml, re.M))
    assert int(settings["admin_port"]) == ports["admin"]
    assert int(settings["port"]) == ports["http"]
    annotations = of_kind("DaemonSet")["spec"]["template"]["metadata"]["annotations"]
    assert int(annotations["prometheus.io/port"]) == ports["admin"]
    assert settings["cache_dir"] == mounts["cache"]
    assert settings["fleet_token_file"].startswith(mounts["fleet"] + "/")
    assert settings["peers_dns"].endswith(f":{ports['http']}")

    # Run it with the file as written, but for what a pod has and this box has not: paths, free
    # ports instead of 8080/9090, loopback, a peers_dns name that resolves here.
    port, admin = free_port(), free_port()
    token = tmp_path / "token"
    token.write_text("a-fleet-token-of-32-characters-xx\n")
    cache = tmp_path / "cache"
    cache.mkdir()
    local = {"cache_dir": str(cache), "port": str(port), "admin_port": str(admin),
             "bind_ip": "127.0.0.1", "admin_bind_ip": "127.0.0.1",
             "fleet_token_file": str(token), "peers_dns": f"localhost:{port}"}
    lines = []
    for line in toml.splitlines():
        m = re.match(r"^(\w+) = ", line)
        if m and m.group(1) in local:
            value = local[m.group(1)]
            line = f"{m.group(1)} = {value}" if value.isdigit() else f'{m.group(1)} = "{value}"'
        lines.append(line)
    cfg = tmp_path / "xs3lerator.toml"
    cfg.write_text("\n".join(lines) + "\n")
    env = {e["name"]: e for e in c["env"]}
    assert set(env) == {"XS3_PEER_SELF", "XS3_WORKERS"}
    assert env["XS3_PEER_SELF"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    cpu = c["resources"]["limits"]["cpu"]  # what resourceFieldRef limits.cpu / 1 yields
    run_env = clean_env({"XS3_PEER_SELF": "127.0.0.1", "XS3_WORKERS": str(int(cpu)),
                         "AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER",
                         "XS3_S3_ENDPOINT_URL": s3_origin.endpoint})
    log = tmp_path / "proxy.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(proxy_binary()), *c["args"][:1], str(cfg)], env=run_env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        base = f"http://127.0.0.1:{admin}"
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                if get(base + c["readinessProbe"]["httpGet"]["path"])[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        assert get(base + c["livenessProbe"]["httpGet"]["path"]) == (200, b"ok\n")
        status, metrics = get(base + annotations["prometheus.io/path"])
        assert status == 200 and b"xs3_fleet_peers" in metrics
        status, fleet = get(base + "/fleet")
        assert status == 200 and f"127.0.0.1:{port}".encode() in fleet, fleet
        assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        text = log.read_text()
        assert "workers=4" in text or f"workers={int(cpu)}" in text, text[-3000:]
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0, log.read_text()[-3000:]
