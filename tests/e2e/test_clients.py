"""Real S3 clients with the proxy as their endpoint, in single-bucket mode (--bucket) and
multi-bucket mode ([[buckets]]), against the SigV4-checking s3rver: the AWS CLI (Debian's
awscli), boto3 (s3transfer's ranged downloads), rclone, s3cmd and the AWS SDK for JavaScript v3
(tests/e2e/jsclient, installed by scripts/setup-debian.sh). Downloads are compared byte for byte;
`aws s3 sync`, `rclone copy` and `s3cmd sync` of a prefix must bring exactly the prefix's
objects; an upload is refused with S3's MethodNotAllowed, never a 500 or object bytes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from e2e_util import HERE, REGION, sha256

AWS = "/usr/bin/aws"
JSCLIENT = HERE / "jsclient"
SUFFIX = "proxy.test"
MiB = 1024 * 1024

TREE = {
    "data/x/1.bin": 100 * 1024,
    "data/x/2.bin": 9 * MiB + 5,  # over the AWS CLI's 8 MiB threshold: ranged GETs
    "data/y/3.txt": None,
    "data/y/empty.bin": 0,
    "data/sp ace/\u00fc+=.bin": 777,
    "other/o.bin": 1000,
}


@pytest.fixture(scope="module")
def tree(make_bucket):
    b = make_bucket("clients")
    for key, size in TREE.items():
        data = b"three\n" * 50 if size is None else os.urandom(size)
        b.put(key, data)
    b.origin.client.put_object_tagging(
        Bucket=b.name, Key="data/x/1.bin", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    return b


@pytest.fixture(params=["single", "multi"])
def mode(request):
    return request.param


@pytest.fixture
def endpoint(proxy_factory, tmp_path, tree, origin, mode):
    args = ["--virtual-host-suffix", SUFFIX, "--access-log"]
    if mode == "multi":
        cfg = tmp_path / "buckets.toml"
        cfg.write_text(f'[[buckets]]\nname = "{tree.name}"\n'
                       f'[[buckets]]\nname = "e2e-second"\nendpoint = "{tree.origin.endpoint}"\n')
        args += ["--config", str(cfg)]
    p = proxy_factory(tree, extra_args=args)
    p.url = f"http://127.0.0.1:{p.port}"
    return p


def run(cmd: list[str], env: dict | None = None, check: bool = True, timeout: float = 120,
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd,
                       stdin=subprocess.DEVNULL)
    if check:
        assert r.returncode == 0, f"{cmd[0]} exited {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def prefix_objects(tree, prefix: str) -> dict[str, str]:
    return {k[len(prefix):]: o.sha256 for k, o in tree.objects.items() if k.startswith(prefix)}


def local_files(root: Path) -> dict[str, str]:
    out = {}
    for path in root.rglob("*"):
        if path.is_file():
            out[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def client_env(tmp_path: Path, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update({"HOME": str(home), "AWS_ACCESS_KEY_ID": "client",
                "AWS_SECRET_ACCESS_KEY": "client-secret", "AWS_DEFAULT_REGION": REGION,
                "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": "",
                "AWS_CONFIG_FILE": str(home / "aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
                "RCLONE_CONFIG": str(home / "rclone.conf")})
    env.update(extra)
    return env


def assert_refused_upload(output: str):
    assert "MethodNotAllowed" in output, output
    assert "InternalError" not in output and " 500" not in output, output


# --- AWS CLI ------------------------------------------------------------------------------------


@pytest.mark.deadline(400)  # the AWS CLI takes seconds to start on a busy box
def test_aws_cli(endpoint, tree, tmp_path, mode):
    env = client_env(tmp_path)
    aws = [AWS, "--endpoint-url", endpoint.url]
    b = tree.name
    dest = tmp_path / "sync"
    # data/x/2.bin is over the CLI's 8 MiB threshold: two ranged GETs through the cache.
    run(aws + ["s3", "sync", f"s3://{b}/data/", str(dest)], env)
    assert local_files(dest) == prefix_objects(tree, "data/")
    rec = tmp_path / "rec"
    run(aws + ["s3", "cp", "--recursive", f"s3://{b}/data/y/", str(rec)], env)
    assert local_files(rec) == prefix_objects(tree, "data/y/")
    ls = run(aws + ["s3", "ls", "--recursive", f"s3://{b}/data/"], env).stdout
    assert sorted(line.split(None, 3)[3] for line in ls.splitlines()) == \
        sorted(k for k in tree.objects if k.startswith("data/"))
    tags = json.loads(run(aws + ["s3api", "get-object-tagging", "--bucket", b, "--key",
                                 "data/x/1.bin"], env).stdout)
    assert tags["TagSet"] == [{"Key": "k", "Value": "v"}]
    buckets = json.loads(run(aws + ["s3api", "list-buckets"], env).stdout)["Buckets"]
    assert [x["Name"] for x in buckets] == ([b, "e2e-second"] if mode == "multi" else [b])
    up = tmp_path / "up.bin"
    up.write_bytes(b"u" * 1000)
    refused = run(aws + ["s3", "cp", str(up), f"s3://{b}/up.bin"], env, check=False)
    assert refused.returncode != 0
    assert_refused_upload(refused.stdout + refused.stderr)


# --- boto3 --------------------------------------------------------------------------------------


def test_boto3_transfers_and_paginators(endpoint, tree, tmp_path, s3_origin):
    from boto3.s3.transfer import TransferConfig

    sdk = s3_origin.make_client(endpoint=endpoint.url)
    target = tmp_path / "2.bin"
    # Small parts: s3transfer downloads in parallel ranged GETs through the cache.
    sdk.download_file(tree.name, "data/x/2.bin", str(target),
                      Config=TransferConfig(multipart_threshold=MiB, multipart_chunksize=MiB,
                                            max_concurrency=4))
    assert sha256(target.read_bytes()) == tree["data/x/2.bin"].sha256
    pages = sdk.get_paginator("list_objects_v2").paginate(Bucket=tree.name, Prefix="data/",
                                                          PaginationConfig={"PageSize": 2})
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert keys == sorted(k for k in tree.objects if k.startswith("data/"))
    empty = sdk.get_object(Bucket=tree.name, Key="data/y/empty.bin")
    assert empty["ContentLength"] == 0 and empty["Body"].read() == b""


# --- rclone -------------------------------------------------------------------------------------


@pytest.mark.deadline(240)
def test_rclone(endpoint, tree, tmp_path):
    env = client_env(tmp_path)
    flags = ["--s3-provider", "Other", "--s3-endpoint", endpoint.url, "--s3-access-key-id",
             "client", "--s3-secret-access-key", "client-secret", "--s3-region", REGION,
             "--s3-force-path-style=true", "--retries", "1", "--low-level-retries", "1"]
    src = f":s3:{tree.name}/data"
    dest = tmp_path / "copy"
    run(["rclone", "copy", src, str(dest)] + flags, env)
    assert local_files(dest) == prefix_objects(tree, "data/")
    listed = run(["rclone", "lsf", "-R", "--files-only", src] + flags, env).stdout.split("\n")
    assert sorted(x for x in listed if x) == sorted(prefix_objects(tree, "data/"))
    cat = run(["rclone", "cat", f"{src}/y/3.txt"] + flags, env).stdout
    assert cat == "three\n" * 50
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "new.bin").write_bytes(b"n" * 100)
    refused = run(["rclone", "copy", str(tmp_path / "up"), src] + flags, env, check=False)
    assert refused.returncode != 0
    assert_refused_upload(refused.stdout + refused.stderr)


# --- s3cmd --------------------------------------------------------------------------------------


@pytest.mark.deadline(240)
def test_s3cmd(endpoint, tree, tmp_path):
    cfg = tmp_path / "s3cmd.cfg"
    host = endpoint.url.removeprefix("http://")
    cfg.write_text(f"[default]\naccess_key = client\nsecret_key = client-secret\n"
                   f"host_base = {host}\nhost_bucket = {host}\nuse_https = False\n"
                   f"signature_v2 = False\nbucket_location = {REGION}\n")
    s3cmd = ["s3cmd", "-c", str(cfg), "--no-progress"]
    env = client_env(tmp_path)
    b = tree.name
    ls = run(s3cmd + ["ls", "--recursive", f"s3://{b}/data/"], env).stdout
    assert sorted(line.split(f"s3://{b}/", 1)[1] for line in ls.splitlines()) == \
        sorted(k for k in tree.objects if k.startswith("data/"))
    dest = tmp_path / "sync"
    dest.mkdir()
    run(s3cmd + ["sync", f"s3://{b}/data/", str(dest) + "/"], env)
    assert local_files(dest) == prefix_objects(tree, "data/")
    got = tmp_path / "got.bin"
    run(s3cmd + ["get", f"s3://{b}/data/x/1.bin", str(got)], env)
    assert sha256(got.read_bytes()) == tree["data/x/1.bin"].sha256
    # info asks for the object, its ACL and the bucket's policy, CORS, lifecycle...: every
    # answer is S3's or an error s3cmd knows (the policy is 501), never a failure.
    info = run(s3cmd + ["info", f"s3://{b}/data/x/1.bin"], env).stdout
    assert "File size: 102400" in info and tree["data/x/1.bin"].etag.strip('"') in info
    up = tmp_path / "up.bin"
    up.write_bytes(b"u" * 10)
    refused = run(s3cmd + ["put", str(up), f"s3://{b}/up.bin"], env, check=False)
    assert refused.returncode != 0
    assert_refused_upload(refused.stdout + refused.stderr)


# --- the README's client settings, as written --------------------------------------------------


def readme_blocks(lang: str) -> list[str]:
    import re

    text = (HERE.parent.parent / "README.md").read_text()
    section = text.split("### Working settings", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{lang}\n(.*?)```", section, re.S)


@pytest.mark.deadline(240)
def test_the_readmes_client_settings_work_as_written(proxy_factory, tree, tmp_path):
    # rclone and s3cmd take a "# comment" after a value as part of the value: the README's
    # snippets once had such comments (rclone: "couldn't parse config item force_path_style";
    # s3cmd: "Port could not be cast to integer value as '8080   '").
    p = proxy_factory(tree)
    here = f"127.0.0.1:{p.port}"
    rclone_conf, s3cfg = (b.replace("127.0.0.1:8080", here) for b in readme_blocks("ini"))
    env = client_env(tmp_path)
    (tmp_path / "rclone.conf").write_text(rclone_conf)
    env["RCLONE_CONFIG"] = str(tmp_path / "rclone.conf")
    listed = run(["rclone", "lsf", "-R", "--files-only", f"proxy:{tree.name}/data/x"], env)
    assert listed.stdout.split() == ["1.bin", "2.bin"]
    (tmp_path / "s3cfg").write_text(s3cfg)
    ls = run(["s3cmd", "-c", str(tmp_path / "s3cfg"), "ls", f"s3://{tree.name}/data/x/"],
             env).stdout
    assert [line.split()[-1] for line in ls.splitlines()] == \
        [f"s3://{tree.name}/data/x/1.bin", f"s3://{tree.name}/data/x/2.bin"]
    # boto3's snippet, run as written (its endpoint moved to this proxy).
    (code,) = readme_blocks("python")
    scope: dict = {}
    exec(code.replace("127.0.0.1:8080", here), scope)
    got = scope["s3"].get_object(Bucket=tree.name, Key="data/y/3.txt")["Body"].read()
    assert got == b"three\n" * 50


# --- the JavaScript SDK v3 ----------------------------------------------------------------------


def js(cfg: dict, env: dict) -> list[dict]:
    if not (JSCLIENT / "node_modules" / "@aws-sdk" / "client-s3").is_dir():
        pytest.fail(f"the JS SDK is not installed in {JSCLIENT}: run ./scripts/setup-debian.sh",
                    pytrace=False)
    r = run(["node", str(JSCLIENT / "client.js"), json.dumps(cfg)], env)
    return json.loads(r.stdout)


@pytest.mark.deadline(180)
@pytest.mark.parametrize("style", ["path", "virtual"])
def test_js_sdk_v3(endpoint, tree, tmp_path, mode, style):
    env = client_env(tmp_path)
    cfg = {"bucket": tree.name, "forcePathStyle": style == "path",
           "endpoint": endpoint.url if style == "path" else f"http://{SUFFIX}:{endpoint.port}",
           "resolveToLoopback": SUFFIX,
           "ops": [{"op": "get", "key": "data/x/2.bin"},
                   {"op": "get", "key": "data/x/1.bin", "range": "bytes=100-199"},
                   {"op": "get", "key": "data/sp ace/\u00fc+=.bin"},
                   {"op": "get", "key": "data/y/empty.bin"},
                   {"op": "head", "key": "data/x/1.bin"},
                   {"op": "headBucket"},
                   {"op": "list", "prefix": "data/", "maxKeys": 2},
                   {"op": "tagging", "key": "data/x/1.bin"},
                   {"op": "listBuckets"},
                   {"op": "get", "key": "data/missing.bin"},
                   {"op": "put", "key": "up.bin", "body": "abc"}]}
    r = js(cfg, env)
    assert all(x["ok"] for x in r[:9]), r
    assert r[0]["sha256"] == tree["data/x/2.bin"].sha256 and r[0]["length"] == 9 * MiB + 5
    assert r[1]["sha256"] == hashlib.sha256(tree["data/x/1.bin"].data[100:200]).hexdigest()
    assert r[1]["contentRange"] == f"bytes 100-199/{100 * 1024}"
    assert r[2]["sha256"] == tree["data/sp ace/\u00fc+=.bin"].sha256
    assert r[3]["length"] == 0
    assert r[4]["length"] == 100 * 1024 and r[4]["etag"] == tree["data/x/1.bin"].etag
    assert [k for k, _ in r[6]["keys"]] == sorted(k for k in tree.objects
                                                  if k.startswith("data/"))
    assert r[7]["tags"] == [["k", "v"]]
    assert tree.name in r[8]["names"]
    assert (r[9]["ok"], r[9]["code"], r[9]["status"]) == (False, "NoSuchKey", 404)
    assert (r[10]["ok"], r[10]["code"], r[10]["status"]) == (False, "MethodNotAllowed", 405)


# --- s3fs ---------------------------------------------------------------------------------------


def fuse_unusable() -> str | None:
    if shutil.which("s3fs") is None:
        return "s3fs is not installed"
    if not os.access("/dev/fuse", os.R_OK | os.W_OK):
        return "/dev/fuse is not usable here"
    return None


def test_s3fs_mount_reads_through_the_proxy(endpoint, tree, tmp_path):
    why = fuse_unusable()
    if why:
        pytest.skip(why)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    creds = tmp_path / "passwd"
    creds.write_text("client:client-secret\n")
    creds.chmod(0o600)
    cmd = ["s3fs", tree.name, str(mnt), "-o", f"url={endpoint.url}", "-o", "use_path_request_style",
           "-o", f"passwd_file={creds}", "-o", "endpoint=" + REGION, "-o", "sigv4",
           "-o", "nonempty", "-o", "ro"]
    r = run(cmd, client_env(tmp_path), check=False, timeout=60)
    if r.returncode != 0 and "fuse" in (r.stderr + r.stdout).lower():
        pytest.skip(f"FUSE mount not possible here: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr
    try:
        assert sorted(os.listdir(mnt / "data" / "x")) == ["1.bin", "2.bin"]
        assert sha256((mnt / "data" / "x" / "2.bin").read_bytes()) == \
            tree["data/x/2.bin"].sha256
        assert (mnt / "data" / "y" / "3.txt").read_bytes() == b"three\n" * 50
    finally:
        subprocess.run(["fusermount", "-u", str(mnt)], capture_output=True, timeout=30)
        subprocess.run(["umount", str(mnt)], capture_output=True, timeout=30)
