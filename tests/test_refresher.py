"""The sidecar's refresher (keyless/scripts/refresh.sh), run for real under bash with a stand-in
`pulumi`, a token file the test rotates, and time compressed through its settings."""

import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from keyless.core.login_job import refresh_script

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Y2k6YWdlbnQiLCJleHAiOjE4OTM0NTYwMDB9.c2lnbmF0dXJl"
ROTATED = (
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Y2k6YWdlbnQiLCJleHAiOjE4OTM0NTk2MDB9.c2lnbmF0dXJlMg"
)

# Logs in by writing credentials.json into its PULUMI_HOME, slowly, in two parts: a reader of a
# file written in place would see half of it. Fails its first $FAIL_FIRST logins.
FAKE_PULUMI = """#!/bin/bash
count=$(( $(cat "$STATE/count" 2>/dev/null || echo 0) + 1 ))
echo "$count" > "$STATE/count"
printf '%s\\n' "$*" >> "$STATE/calls"
if (( count <= ${FAIL_FIRST:-0} )); then echo "error: exchange refused" >&2; exit 1; fi
printf '{"current": "https://api.pulumi.com", "accessTokens": ' > "$PULUMI_HOME/credentials.json"
sleep 0.05
printf '{"https://api.pulumi.com": "pul-%040d"}}' "$count" >> "$PULUMI_HOME/credentials.json"
"""


def _start(tmp_path: Path, **settings: str) -> tuple[subprocess.Popen[str], Path, Path]:
    bin_dir, shared, state = tmp_path / "bin", tmp_path / "shared", tmp_path / "state"
    for folder in (bin_dir, shared, state):
        folder.mkdir()
    (bin_dir / "pulumi").write_text(FAKE_PULUMI)
    (bin_dir / "pulumi").chmod(0o755)
    (tmp_path / "refresh.sh").write_text(refresh_script())
    token = tmp_path / "token"
    token.write_text(TOKEN)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "STATE": str(state),
        "PULUMI_OIDC_TOKEN_FILE": str(token),
        "PULUMI_OIDC_ORG": "acme",
        "PULUMI_BACKEND_URL": "https://api.pulumi.com",
        "PULUMI_ACCESS_TOKEN": "pul-must-be-unset",
        "KEYLESS_SHARED_HOME": str(shared),
        "KEYLESS_LIFETIME_SECONDS": "6",
        "KEYLESS_REFRESH_PERCENT": "50",
        "KEYLESS_POLL_SECONDS": "0.1",
        "KEYLESS_RETRY_SECONDS": "1",
        **settings,
    }
    process = subprocess.Popen(
        ["bash", str(tmp_path / "refresh.sh")], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    return process, shared, state


def _wait(condition: Any, seconds: float = 8.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _logins(state: Path) -> list[str]:
    calls = state / "calls"
    return [c for c in calls.read_text().splitlines() if c.startswith("login")] if calls.exists() else []


def test_it_logs_in_retries_renews_and_follows_rotation_without_showing_the_token(tmp_path: Path) -> None:
    process, shared, state = _start(tmp_path, FAIL_FIRST="1")
    torn: list[str] = []
    done = threading.Event()

    def watch() -> None:  # the application's view: credentials.json is whole whenever it exists
        path = shared / "credentials.json"
        while not done.is_set():
            time.sleep(0.002)
            try:
                text = path.read_text()
            except FileNotFoundError:
                continue
            try:
                json.loads(text)
            except ValueError:
                torn.append(text)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        _wait(lambda: (shared / ".keyless-ready").exists())
        assert len(_logins(state)) == 2, "the first exchange failed and was retried after a backoff"
        assert json.loads((shared / "credentials.json").read_text())["accessTokens"]
        (tmp_path / "token").write_text(ROTATED)  # the kubelet rotates the projected token
        _wait(lambda: len(_logins(state)) == 3)
        _wait(lambda: len(_logins(state)) == 4, seconds=8)  # 50% of 6 s: renewed before expiry
    finally:
        done.set()
        process.kill()
        out, err = process.communicate(timeout=5)
    watcher.join(timeout=2)
    assert torn == [], "the application never reads a half-written credentials file"
    assert "retrying in 1s" in err and "attempt 2/5" in out
    assert "The projected token was rotated: re-exchanging" in out, out
    assert "The Pulumi token is due for renewal: re-exchanging" in out
    assert 'sub="system:serviceaccount:ci:agent"' in out, "each attempt logs the claims"
    calls = (state / "calls").read_text()
    for secret in (TOKEN, ROTATED, TOKEN.rsplit(".", 1)[-1]):
        assert secret not in out + err + calls
    assert all(f"--oidc-token file://{tmp_path / 'token'}" in login for login in _logins(state))
    assert all(login.endswith("--oidc-expiration 6s") for login in _logins(state))


def test_it_gives_up_after_bounded_retries_and_is_never_ready(tmp_path: Path) -> None:
    process, shared, state = _start(tmp_path, FAIL_FIRST="99", KEYLESS_MAX_ATTEMPTS="2")
    _, err = process.communicate(timeout=10)
    assert process.returncode == 1
    assert len(_logins(state)) == 2
    assert "failed 2 times in a row; giving up" in err
    assert not (shared / ".keyless-ready").exists() and not (shared / "credentials.json").exists()


def _store(values: dict[str, Any], name: str) -> Any:
    return lambda value: values.__setitem__(name, value)


def test_the_sidecar_component_returns_a_hardened_native_sidecar_for_any_pod() -> None:
    from components.keyless_pulumi_sidecar import KeylessPulumiSidecar
    from keyless.core.pulumi_cloud import TokenType
    from keyless.preview.engine import run_program
    from tests.conftest import ROOT

    values: dict[str, Any] = {}

    def program() -> None:
        sidecar = KeylessPulumiSidecar(
            "agent",
            {"namespace": "ci", "organization": "acme", "token_type": TokenType.TEAM, "team_name": "platform"},
        )
        outputs = (sidecar.init_containers, sidecar.volumes, sidecar.app_env, sidecar.app_volume_mounts)
        for name, output in zip(("init", "volumes", "env", "mounts"), outputs, strict=True):
            output.apply(_store(values, name))

    run = run_program({}, program=program)
    (container,) = values["init"]
    assert container["restartPolicy"] == "Always", "a native sidecar: it starts first and keeps running"
    assert container["startupProbe"]["exec"]["command"] == ["test", "-f", "/pulumi-home/.keyless-ready"]
    context = container["securityContext"]
    assert context["runAsNonRoot"] and context["runAsUser"] == 10001 and context["readOnlyRootFilesystem"]
    assert context["allowPrivilegeEscalation"] is False and context["capabilities"] == {"drop": ["ALL"]}
    assert all("subPath" not in mount for mount in container["volumeMounts"])
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["PULUMI_OIDC_TEAM"] == "platform" and env["KEYLESS_LIFETIME_SECONDS"] == "7200"
    assert not any("ACCESS_TOKEN" in name for name in env)
    token_volume = next(v for v in values["volumes"] if v["name"] == "keyless-oidc-token")
    assert token_volume["projected"]["sources"][0]["serviceAccountToken"]["audience"] == "urn:pulumi:org:acme"
    assert {"name": "PULUMI_HOME", "value": "/pulumi-home"} in values["env"]
    assert values["mounts"] == [{"name": "keyless-pulumi-home", "mountPath": "/pulumi-home"}]
    script = run.one("kubernetes:core/v1:ConfigMap").plain_inputs["data"]["refresh.sh"]
    assert script == (ROOT / "keyless" / "scripts" / "refresh.sh").read_text()
    assert run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy") == [], "only with pod_labels"
