"""The credential chain end to end: every source hands the proxy credentials that the
SigV4-validating S3 server accepts (objects served byte-exact), a wrong secret from a source
gives the client a 403, short-lived credentials are refreshed in the background while the proxy
keeps serving, and no secret ever reaches the proxy's log.

Stand-ins (cred_standins.py) play STS, the ECS/EKS container credential endpoint and IMDSv2; the
shared files and the config file are written per test. s3rver ignores x-amz-security-token, so the
tokens are random strings that only serve to tell issues apart and to check the log."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from cred_standins import ContainerStandIn, ImdsStandIn, StsStandIn
from e2e_util import (MEDIUM, S3_SECRET_KEY, SMALL, Proxy, assert_full_object, clean_env,
                      proxy_binary, wait_until)

WRONG_SECRET = "wrong-secret-from-a-stand-in"


@pytest.fixture
def standins():
    started = []

    def make(cls, **kwargs):
        s = cls(**kwargs).start()
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


def assert_log_clean(p: Proxy, *secrets: str) -> None:
    """No secret in the proxy's log. The access key is S3RVER like the secret, so the key id's
    redaction is checked too (ids shorter than 16 characters are never shown)."""
    log = p.all_output()
    assert log, "the proxy wrote no log"
    for s in (S3_SECRET_KEY, *secrets):
        assert s not in log, f"{s!r} appears in {p.log_path}"


def assert_serves(p: Proxy, bucket) -> None:
    assert_full_object(p.get("/" + SMALL), bucket[SMALL], cache="MISS")
    assert_full_object(p.get("/" + MEDIUM), bucket[MEDIUM], cache="MISS")
    assert_full_object(p.get("/" + SMALL), bucket[SMALL], cache="HIT")


def assert_403(p: Proxy) -> None:
    r = p.get("/" + SMALL)
    assert r.status == 403, (r.status, r.raw_head, r.body[:300])
    assert b"<Code>SignatureDoesNotMatch</Code>" in r.body, r.body


def start_failure(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Runs the proxy expecting it to refuse to start."""
    cmd = [str(proxy_binary()), "--bind-ip", "127.0.0.1", "--port", "0", "--bucket", "some-bucket",
           "--cache-dir", str(tmp_path / "cache"), "--max-cache-size", "1GiB", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=env,
                          stdin=subprocess.DEVNULL)


def log_lines(p: Proxy, msg: str) -> list[str]:
    return [line for line in p.log_text().splitlines() if f'msg="{msg}"' in line]


# --- static keys and the shared files -----------------------------------------------------------


def test_config_file_keys(proxy_factory, bucket, tmp_path):
    cfg = tmp_path / "xs3.toml"
    cfg.write_text(f'access_key_id = "S3RVER"\nsecret_access_key = "{S3_SECRET_KEY}"\n')
    cfg.chmod(0o600)
    p = proxy_factory(bucket, static_keys=False, extra_args=["--config", str(cfg)])
    assert_serves(p, bucket)
    creds = log_lines(p, "credentials")
    assert len(creds) == 1 and "source=config" in creds[0], creds
    assert "access_key_id=***" in creds[0]
    assert not log_lines(p, "the config file holds secret_access_key but others may read it; "
                            "chmod 600")
    assert_log_clean(p)

    wrong = tmp_path / "wrong.toml"
    wrong.write_text(f'access_key_id = "S3RVER"\nsecret_access_key = "{WRONG_SECRET}"\n')
    wrong.chmod(0o644)
    q = proxy_factory(bucket, static_keys=False, extra_args=["--config", str(wrong)])
    assert_403(q)
    assert len(log_lines(q, "the config file holds secret_access_key but others may read it; "
                            "chmod 600")) == 1
    assert_log_clean(q, WRONG_SECRET)


def test_config_file_keys_win_over_the_environment(proxy_factory, bucket, tmp_path):
    cfg = tmp_path / "xs3.toml"
    cfg.write_text(f'access_key_id = "S3RVER"\nsecret_access_key = "{S3_SECRET_KEY}"\n')
    cfg.chmod(0o600)
    p = proxy_factory(bucket, secret=WRONG_SECRET, extra_args=["--config", str(cfg)])
    assert_full_object(p.get("/" + SMALL), bucket[SMALL])


def test_shared_files_profile_and_its_region(proxy_factory, bucket, tmp_path):
    creds = tmp_path / "credentials"
    config = tmp_path / "config"
    creds.write_text("[default]\naws_access_key_id = NOPE\naws_secret_access_key = nope\n\n"
                     f"[e2e]\naws_access_key_id = S3RVER ; a comment\n"
                     f"aws_secret_access_key = {S3_SECRET_KEY}\n")
    config.write_text("[default]\nregion = eu-west-3\n[profile e2e]\nregion = us-east-1\n")
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(creds), "AWS_CONFIG_FILE": str(config),
           "AWS_PROFILE": "e2e"}
    p = proxy_factory(bucket, static_keys=False, env=env, region=None)
    assert_serves(p, bucket)
    line = log_lines(p, "credentials")[0]
    assert "source=profile" in line and "profile 'e2e'" in line, line
    region = log_lines(p, "region")[0]
    assert "region=us-east-1" in region and "profile 'e2e'" in region, region
    assert_log_clean(p)

    # The default profile (no AWS_PROFILE) has the wrong keys: S3 says 403.
    q = proxy_factory(bucket, static_keys=False, region=None,
                      env={"AWS_SHARED_CREDENTIALS_FILE": str(creds),
                           "AWS_CONFIG_FILE": str(config)})
    assert "region=eu-west-3" in log_lines(q, "region")[0]
    r = q.get("/" + SMALL)
    assert r.status == 403, r.raw_head


# --- web identity (EKS IRSA) --------------------------------------------------------------------


def web_identity_env(sts: StsStandIn, token_file: Path) -> dict[str, str]:
    return {"AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file), "AWS_ROLE_ARN": sts.role_arn,
            "AWS_ROLE_SESSION_NAME": "e2e-session", "AWS_ENDPOINT_URL_STS": sts.url}


def test_web_identity(proxy_factory, bucket, standins, tmp_path):
    sts = standins(StsStandIn)
    token = tmp_path / "token"
    token.write_text(sts.token + "\n")
    p = proxy_factory(bucket, static_keys=False, env=web_identity_env(sts, token))
    assert_serves(p, bucket)
    assert sts.issue_count() == 1
    assert sts.form_values("RoleSessionName") == ["e2e-session"]
    assert sts.form_values("WebIdentityToken") == [sts.token]
    line = log_lines(p, "credentials")[0]
    assert "source=web-identity" in line and sts.role_arn in line, line
    assert_log_clean(p, sts.token, *sts.secrets_handed_out())


def test_web_identity_wrong_secret_gives_403(proxy_factory, bucket, standins, tmp_path):
    sts = standins(StsStandIn, secret=WRONG_SECRET)
    token = tmp_path / "token"
    token.write_text(sts.token)
    p = proxy_factory(bucket, static_keys=False, env=web_identity_env(sts, token))
    assert_403(p)
    assert_log_clean(p, WRONG_SECRET, sts.token, *sts.secrets_handed_out())


def test_web_identity_rejected_token_fails_start_up(standins, tmp_path):
    sts = standins(StsStandIn)
    token = tmp_path / "token"
    token.write_text("not-the-token")
    r = start_failure(["--region", "us-east-1"], clean_env(web_identity_env(sts, token)), tmp_path)
    assert r.returncode == 2, r.stderr
    assert "credentials: STS AssumeRoleWithWebIdentity: HTTP 400 InvalidIdentityToken" in r.stderr
    assert "not-the-token" not in r.stderr
    assert sts.issue_count() == 0
    assert len(sts.requests("POST")) == 1  # a rejected token is not retried


# --- container credentials (ECS, EKS Pod Identity) ----------------------------------------------


def container_env(c: ContainerStandIn, token_file: Path) -> dict[str, str]:
    return {"AWS_CONTAINER_CREDENTIALS_FULL_URI": c.url + c.path,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token_file)}


def test_container_credentials(proxy_factory, bucket, standins, tmp_path):
    c = standins(ContainerStandIn)
    token = tmp_path / "pod-identity-token"
    token.write_text(c.authorization)
    p = proxy_factory(bucket, static_keys=False, env=container_env(c, token))
    assert_serves(p, bucket)
    assert c.issue_count() == 1
    assert [r.headers.get("authorization") for r in c.requests()] == [c.authorization]
    assert "source=container" in log_lines(p, "credentials")[0]
    assert_log_clean(p, c.authorization, *c.secrets_handed_out())


def test_container_wrong_secret_gives_403(proxy_factory, bucket, standins, tmp_path):
    c = standins(ContainerStandIn, secret=WRONG_SECRET)
    token = tmp_path / "token"
    token.write_text(c.authorization)
    p = proxy_factory(bucket, static_keys=False, env=container_env(c, token))
    assert_403(p)
    assert_log_clean(p, WRONG_SECRET, c.authorization, *c.secrets_handed_out())


def test_container_rejected_token_fails_start_up(standins, tmp_path):
    c = standins(ContainerStandIn)
    token = tmp_path / "token"
    token.write_text("stale-token")
    r = start_failure(["--region", "us-east-1"], clean_env(container_env(c, token)), tmp_path)
    assert r.returncode == 2, r.stderr
    assert "credentials: container credentials: HTTP 401 (InvalidToken: the authorization token " \
           "was rejected)" in r.stderr
    assert "stale-token" not in r.stderr


# --- EC2 instance metadata (IMDSv2) -------------------------------------------------------------


def imds_env(imds: ImdsStandIn) -> dict[str, str | None]:
    # The SDKs' 1 s IMDS timeout is for real IMDS; a Python stand-in on a busy test machine
    # gets the SDKs' own knob for more.
    return {"AWS_EC2_METADATA_DISABLED": None, "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url,
            "AWS_METADATA_SERVICE_TIMEOUT": "5"}


def test_imds_credentials_and_region(proxy_factory, bucket, standins):
    imds = standins(ImdsStandIn, region="us-east-1")
    p = proxy_factory(bucket, static_keys=False, env=imds_env(imds), region=None)
    assert_serves(p, bucket)
    assert imds.issue_count() == 1
    reqs = imds.requests()
    assert reqs[0].method == "PUT" and reqs[0].path == "/latest/api/token"
    assert all(r.headers.get("x-aws-ec2-metadata-token") for r in reqs if r.method == "GET")
    assert "/latest/meta-data/placement/region" in [r.path for r in reqs]
    assert "source=imds" in log_lines(p, "credentials")[0]
    region = log_lines(p, "region")[0]
    assert "region=us-east-1" in region and "source=IMDS" in region, region
    assert_log_clean(p, *imds.secrets_handed_out(), *imds.tokens)


def test_imds_wrong_secret_gives_403(proxy_factory, bucket, standins):
    imds = standins(ImdsStandIn, secret=WRONG_SECRET)
    p = proxy_factory(bucket, static_keys=False, env=imds_env(imds))
    assert_403(p)
    assert_log_clean(p, WRONG_SECRET, *imds.secrets_handed_out())


# --- rotation -----------------------------------------------------------------------------------


@pytest.mark.deadline(120)
@pytest.mark.parametrize("kind", ["web-identity", "container", "imds"])
def test_short_lived_credentials_are_refreshed_while_serving(kind, proxy_factory, bucket,
                                                             standins, tmp_path):
    """The stand-in issues credentials valid for 6 s, so the proxy refreshes them about every
    3 s (half their lifetime). Requests keep being answered byte-exact across refreshes; then the
    stand-in starts issuing a wrong secret and the proxy's next refresh turns answers into 403s,
    which shows it really signs with what it fetched last."""
    token = tmp_path / "token"
    if kind == "web-identity":
        s = standins(StsStandIn, lifetime_s=6)
        token.write_text(s.token)
        env = web_identity_env(s, token)
    elif kind == "container":
        s = standins(ContainerStandIn, lifetime_s=6)
        token.write_text(s.authorization)
        env = container_env(s, token)
    else:
        s = standins(ImdsStandIn, lifetime_s=6)
        env = imds_env(s)
    p = proxy_factory(bucket, static_keys=False, env=env)
    served = 0
    rotated = False

    def refreshed_and_serving() -> bool:
        nonlocal served, rotated
        assert_full_object(p.get("/" + SMALL), bucket[SMALL])
        served += 1
        if not rotated and s.issue_count() >= 2:
            # The token source rotates (kubelet, pod identity agent); the proxy must re-read it.
            rotated = True
            if kind == "web-identity":
                token.write_text("jwt-rotated\n")
                s.token = "jwt-rotated"
            elif kind == "container":
                token.write_text("pod-identity-rotated")
                s.authorization = "pod-identity-rotated"
        return s.issue_count() >= 4

    wait_until(refreshed_and_serving, timeout=60, interval=0.2, what=f"{kind} refreshes")
    assert served >= 4
    if kind == "web-identity":
        assert "jwt-rotated" in s.form_values("WebIdentityToken")
    elif kind == "container":
        assert "pod-identity-rotated" in [r.headers.get("authorization") for r in s.requests()]
    # A refresh may fail on a loaded machine (IMDS allows 1 s), and is then retried; what
    # matters is that refreshes happen and every request above was answered.
    refreshes = log_lines(p, "credentials refreshed")
    assert len(refreshes) >= 3, refreshes

    s.secret = WRONG_SECRET
    issued = s.issue_count()
    wait_until(lambda: s.issue_count() > issued, timeout=30, what="a refresh with the wrong secret")

    def turned_403() -> bool:
        r = p.get("/" + SMALL)
        assert r.status in (200, 403), r.raw_head
        return r.status == 403

    wait_until(turned_403, timeout=30, interval=0.2, what="the wrong secret to take effect")
    assert_log_clean(p, WRONG_SECRET, *s.secrets_handed_out(), "jwt-rotated",
                     "pod-identity-rotated")


@pytest.mark.deadline(60)
def test_failed_refresh_keeps_serving_with_the_old_credentials(proxy_factory, bucket, standins,
                                                               tmp_path):
    sts = standins(StsStandIn, lifetime_s=8)
    token = tmp_path / "token"
    token.write_text(sts.token)
    p = proxy_factory(bucket, static_keys=False, env=web_identity_env(sts, token))
    sts.token = "now-nothing-matches"  # every refresh is refused from here on
    wait_until(lambda: log_lines(p, "credential refresh failed; keeping the current credentials"),
               timeout=30, what="a failed refresh")
    assert_full_object(p.get("/" + SMALL), bucket[SMALL])  # still valid: still used
    assert sts.issue_count() == 1
    line = log_lines(p, "credential refresh failed; keeping the current credentials")[0]
    assert "InvalidIdentityToken" in line and "level=warn" in line, line
    assert_log_clean(p, *sts.secrets_handed_out())


# --- endpoints from the environment -------------------------------------------------------------


def test_s3_endpoint_from_aws_endpoint_url_s3(proxy_factory, bucket, s3_origin, tmp_path):
    p = proxy_factory(bucket, start=False, env={"AWS_ENDPOINT_URL_S3": s3_origin.endpoint,
                                                "AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    p.s3_endpoint = ""  # no --s3-endpoint-url: the variable decides
    p.start()
    assert_serves(p, bucket)
    line = log_lines(p, "S3 endpoint")[0]
    assert f"url={s3_origin.endpoint} " in line and "path_style=true" in line, line

    r = start_failure(["--region", "us-east-1", "--s3-fips"],
                      clean_env({"AWS_ENDPOINT_URL_S3": s3_origin.endpoint,
                                 "AWS_ACCESS_KEY_ID": "S3RVER",
                                 "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY}), tmp_path)
    assert r.returncode == 2, r.stderr
    assert "AWS_ENDPOINT_URL_S3 names an endpoint, which cannot be combined with --s3-fips" \
        in r.stderr


# --- nothing found, anonymous -------------------------------------------------------------------


def test_no_credentials_fails_start_up_with_what_was_tried(tmp_path):
    r = start_failure(["--region", "us-east-1"], clean_env({"HOME": str(tmp_path)}), tmp_path)
    assert r.returncode == 2, r.stderr
    assert "credentials: no AWS credentials found: tried the configuration file" in r.stderr
    assert "instance metadata (IMDS): off (AWS_EC2_METADATA_DISABLED)" in r.stderr
    assert "use --anonymous (anonymous = true in the --config file)" in r.stderr


def test_anonymous_is_explicit_and_logged(proxy_factory, bucket, tmp_path):
    """s3rver serves unsigned requests, so an anonymous proxy gets the bytes; and with a wrong
    secret in the environment (which would earn a 403 if it were used) --anonymous still gets
    them: the chain is not consulted at all."""
    p = proxy_factory(bucket, secret=WRONG_SECRET, extra_args=["--anonymous"])
    warn = log_lines(p, "S3 requests are sent unsigned (anonymous)")
    assert len(warn) == 1 and 'why="anonymous = true"' in warn[0], warn
    assert_full_object(p.get("/" + SMALL), bucket[SMALL])

    q = proxy_factory(bucket, static_keys=False, extra_args=["--anonymous-fallback"],
                      env={"HOME": str(tmp_path)})
    warn = log_lines(q, "S3 requests are sent unsigned (anonymous)")
    assert len(warn) == 1 and "anonymous_fallback = true" in warn[0], warn
    assert_full_object(q.get("/" + MEDIUM), bucket[MEDIUM])
