"""The sidecar's refresher (keyless/scripts/refresh.sh), run for real under bash with a stand-in
``pulumi`` that writes credentials.json as the CLI does (mode 0600, ``tokenInformation.expiresAt``
as Go writes a ``time.Time``), a token file the test rotates, and time compressed through its
settings. One test runs it as the sidecar's UID and reads the credentials as an application of
another UID in the pod's fsGroup, as the kubelet sets a volume up for that group."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keyless.core.login_job import LIBRARY_NAME, REFRESH_SCRIPT_NAME, script

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Y2k6YWdlbnQiLCJleHAiOjE4OTM0NTYwMDB9.c2lnbmF0dXJl"
ROTATED = (
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Y2k6YWdlbnQiLCJleHAiOjE4OTM0NTk2MDB9.c2lnbmF0dXJlMg"
)

# Logs in by writing credentials.json into its PULUMI_HOME (0600, as lockedfile.Write does), slowly,
# in two parts: a reader of a file written in place would see half of it. Fails its first
# $FAIL_FIRST logins; with $GRANTED_SECONDS, records the expiry Pulumi Cloud granted.
FAKE_PULUMI = """#!/bin/bash
count=$(( $(cat "$STATE/count" 2>/dev/null || echo 0) + 1 ))
echo "$count" > "$STATE/count"
printf '%s\\n' "$*" >> "$STATE/calls"
if (( count <= ${FAIL_FIRST:-0} )); then echo "error: exchange refused" >&2; exit 1; fi
info=""
if [[ -n "${GRANTED_SECONDS:-}" ]]; then
  expires="$(date -u -d "@$(( $(date +%s) + GRANTED_SECONDS ))" +%Y-%m-%dT%H:%M:%S.123456789Z)"
  info=", \\"tokenInformation\\": {\\"name\\": \\"oidc\\", \\"organization\\": \\"acme\\", \\"expiresAt\\": \\"$expires\\"}"
fi
umask 077
printf '{"current": "https://api.pulumi.com", "accessTokens": {"https://api.pulumi.com": "pul-%040d"}, ' "$count" \\
  > "$PULUMI_HOME/credentials.json"
sleep 0.05
printf '"accounts": {"https://api.pulumi.com": {"accessToken": "pul-%040d"%s}}}' "$count" "$info" \\
  >> "$PULUMI_HOME/credentials.json"
"""


def _install(folder: Path) -> None:
    (folder / "bin").mkdir()
    (folder / "bin" / "pulumi").write_text(FAKE_PULUMI)
    (folder / "bin" / "pulumi").chmod(0o755)
    for name in (REFRESH_SCRIPT_NAME, LIBRARY_NAME):
        (folder / name).write_text(script(name))
        (folder / name).chmod(0o755)
    (folder / "token").write_text(TOKEN)
    (folder / "token").chmod(0o644)


def _start(folder: Path, shared: Path, run_as: list[str] | None = None, **settings: str) -> subprocess.Popen[str]:
    state = folder / "state"
    state.mkdir(exist_ok=True)
    state.chmod(0o777)
    env = {
        "PATH": f"{folder / 'bin'}:{os.environ['PATH']}",
        "HOME": str(folder),
        "STATE": str(state),
        "PULUMI_OIDC_TOKEN_FILE": str(folder / "token"),
        "PULUMI_OIDC_ORG": "acme",
        "PULUMI_OIDC_EXPIRATION": "6s",
        "PULUMI_BACKEND_URL": "https://api.pulumi.com",
        "PULUMI_ACCESS_TOKEN": "pul-must-be-unset",
        "PULUMI_CREDENTIALS_PATH": str(shared),  # set by a careless pod spec: the CLI must not write there
        "KEYLESS_CREDENTIALS_DIR": str(shared),
        "KEYLESS_REFRESH_PERCENT": "50",
        "KEYLESS_POLL_SECONDS": "0.1",
        "KEYLESS_RETRY_SECONDS": "1",
        **settings,
    }
    command = [*(run_as or []), "bash", str(folder / REFRESH_SCRIPT_NAME)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait(condition: Any, seconds: float = 8.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _logins(folder: Path) -> list[str]:
    calls = folder / "state" / "calls"
    return [c for c in calls.read_text().splitlines() if c.startswith("login")] if calls.exists() else []


def _published_token(shared: Path) -> str:
    return str(json.loads((shared / "credentials.json").read_text())["accessTokens"]["https://api.pulumi.com"])


def test_it_logs_in_retries_renews_and_follows_rotation_without_showing_the_token(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    _install(tmp_path)
    process = _start(tmp_path, shared, FAIL_FIRST="1")
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
        assert len(_logins(tmp_path)) == 2, "the first exchange failed and was retried after a backoff"
        assert _published_token(shared)
        (tmp_path / "token").write_text(ROTATED)  # the kubelet rotates the projected token
        _wait(lambda: len(_logins(tmp_path)) == 3)
        _wait(lambda: len(_logins(tmp_path)) == 4, seconds=8)  # 50% of 6 s: renewed before expiry
    finally:
        done.set()
        process.kill()
        out, err = process.communicate(timeout=5)
    watcher.join(timeout=2)
    assert torn == [], "the application never reads a half-written credentials file"
    assert "retrying in 1s" in err and "attempt 2/5" in out
    assert "The projected token was rotated: re-exchanging" in out, out
    assert "The Pulumi token is due for renewal: re-exchanging" in out
    assert "sub=system:serviceaccount:ci:agent" in out, "each attempt logs the claims"
    calls = (tmp_path / "state" / "calls").read_text()
    for secret in (TOKEN, ROTATED, TOKEN.rsplit(".", 1)[-1]):
        assert secret not in out + err + calls
    assert all(f"--oidc-token file://{tmp_path / 'token'}" in login for login in _logins(tmp_path))
    assert all(login.endswith("--oidc-expiration 6s") for login in _logins(tmp_path))
    assert not (tmp_path / "state" / "credentials.json").exists()


def test_renewal_follows_the_lifetime_granted_not_the_one_requested(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    _install(tmp_path)
    # An hour requested, four seconds granted (the issuer's maximum caps it): renewed after ~2 s.
    process = _start(tmp_path, shared, PULUMI_OIDC_EXPIRATION="1h", GRANTED_SECONDS="4")
    try:
        _wait(lambda: len(_logins(tmp_path)) == 2, seconds=6)
    finally:
        process.kill()
        out, err = process.communicate(timeout=5)
    assert "The token obtained expires in 4s" in err or "The token obtained expires in 3s" in err
    assert "The Pulumi token is due for renewal" in out


def test_it_gives_up_after_bounded_retries_and_is_never_ready(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    _install(tmp_path)
    process = _start(tmp_path, shared, FAIL_FIRST="99", KEYLESS_MAX_ATTEMPTS="2")
    _, err = process.communicate(timeout=10)
    assert process.returncode == 1
    assert len(_logins(tmp_path)) == 2
    assert "failed 2 times in a row; giving up" in err
    assert not (shared / ".keyless-ready").exists() and not (shared / "credentials.json").exists()


SIDECAR_UID, APP_UID, FS_GROUP = 10001, 1000, 2000


@pytest.fixture
def pod_folder() -> Iterator[Path]:
    """A folder every UID can traverse (pytest's tmp_path is root's own)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("running as another UID needs root and setpriv")
    folder = Path(tempfile.mkdtemp(prefix="keyless-pod-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def _as(uid: int) -> list[str]:
    """Run as ``uid`` with the pod's fsGroup as a supplementary group, as the kubelet does."""
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", f"--groups={FS_GROUP}", "--inh-caps=-all"]


def test_an_application_of_another_uid_in_the_fsgroup_stays_logged_in(pod_folder: Path) -> None:
    _install(pod_folder)
    # The emptyDir as the kubelet prepares it for an fsGroup: group-owned, setgid, group-writable.
    shared = pod_folder / "credentials"
    shared.mkdir()
    os.chown(shared, 0, FS_GROUP)
    shared.chmod(0o2770)
    process = _start(pod_folder, shared, run_as=_as(SIDECAR_UID))

    def app(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*_as(APP_UID), *command], capture_output=True, text=True, timeout=10, check=False)

    def app_token() -> str:
        read = app("cat", str(shared / "credentials.json"))
        assert read.returncode == 0, read.stderr
        return str(json.loads(read.stdout)["accessTokens"]["https://api.pulumi.com"])

    try:
        _wait(lambda: (shared / ".keyless-ready").exists())
        assert (shared / "credentials.json").stat().st_uid == SIDECAR_UID
        first = app_token()
        # The application's own CLI re-saves what it read, in place: it may write the file.
        resave = f'saved="$(cat {shared}/credentials.json)" && printf "%s" "$saved" > {shared}/credentials.json'
        assert app("bash", "-c", resave).returncode == 0
        (pod_folder / "token").write_text(ROTATED)
        _wait(lambda: len(_logins(pod_folder)) == 2)
        _wait(lambda: app_token() != first)
        renewed = app_token()
        # A command that read the file before the renewal saves the older token back ...
        stale = (shared / "credentials.json").read_text().replace(renewed, first)
        written = app("bash", "-c", f"printf '%s' '{stale}' > {shared}/credentials.json")
        assert written.returncode == 0, written.stderr
        # ... and the sidecar publishes the current one again, without a new exchange.
        _wait(lambda: app_token() == renewed, seconds=3)
        assert len(_logins(pod_folder)) == 2
    finally:
        process.kill()
        out, err = process.communicate(timeout=5)
    assert "publishing it again" in out, out + err


def _store(values: dict[str, Any], name: str) -> Any:
    return lambda value: values.__setitem__(name, value)


def test_the_sidecar_component_returns_a_hardened_native_sidecar_for_any_pod() -> None:
    from keyless.components.keyless_pulumi_sidecar import KeylessPulumiSidecar
    from keyless.core.pulumi_cloud import TokenType
    from keyless.preview.engine import run_program

    values: dict[str, Any] = {}

    def program() -> None:
        sidecar = KeylessPulumiSidecar(
            "agent",
            {
                "namespace": "ci",
                "organization": "acme",
                "token_type": TokenType.TEAM,
                "team_name": "platform",
                "pod_labels": {"app": "agent"},
            },
        )
        outputs = (
            sidecar.init_containers,
            sidecar.volumes,
            sidecar.app_env,
            sidecar.app_volume_mounts,
            sidecar.pod_security_context,
        )
        for name, output in zip(("init", "volumes", "env", "mounts", "pod"), outputs, strict=True):
            output.apply(_store(values, name))

    run = run_program({}, program=program)
    (container,) = values["init"]
    assert container["restartPolicy"] == "Always", "a native sidecar: it starts first and keeps running"
    assert container["startupProbe"]["exec"]["command"] == ["test", "-f", "/pulumi-credentials/.keyless-ready"]
    context = container["securityContext"]
    assert context["runAsNonRoot"] and context["runAsUser"] == 10001 and context["readOnlyRootFilesystem"]
    assert context["allowPrivilegeEscalation"] is False and context["capabilities"] == {"drop": ["ALL"]}
    assert all("subPath" not in mount for mount in container["volumeMounts"])
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["PULUMI_OIDC_TEAM"] == "platform" and env["PULUMI_OIDC_EXPIRATION"] == "2h"
    assert env["PULUMI_CREDENTIAL_STORE"] == "plaintext"
    assert not any("ACCESS_TOKEN" in name for name in env)
    token_volume = next(v for v in values["volumes"] if v["name"] == "keyless-oidc-token")
    assert token_volume["projected"]["sources"][0]["serviceAccountToken"]["audience"] == "urn:pulumi:org:acme"
    app_env = {item["name"]: item["value"] for item in values["env"]}
    assert app_env["PULUMI_CREDENTIALS_PATH"] == "/pulumi-credentials"
    assert app_env["PULUMI_CREDENTIAL_STORE"] == "plaintext" and "PULUMI_HOME" not in app_env
    assert values["mounts"] == [{"name": "keyless-credentials", "mountPath": "/pulumi-credentials"}]
    assert values["pod"] == {"fsGroup": 10001}
    data = run.one("kubernetes:core/v1:ConfigMap").plain_inputs["data"]
    assert data == {REFRESH_SCRIPT_NAME: script(REFRESH_SCRIPT_NAME), LIBRARY_NAME: script(LIBRARY_NAME)}
    policy = run.one("kubernetes:networking.k8s.io/v1:NetworkPolicy").plain_inputs["spec"]
    assert [rule for rule in policy["egress"] if "to" in rule] == [], (
        "no node-local endpoint unless the pod's identity needs it: on EKS and AKS 169.254.169.254 is the node's "
        "own credentials"
    )


@pytest.mark.parametrize(
    ("endpoints", "reached"),
    [
        (["gke-metadata-server"], [("169.254.169.254/32", 80)]),
        (["eks-pod-identity-agent"], [("169.254.170.23/32", 80)]),
    ],
)
def test_the_sidecar_opens_only_the_credential_endpoint_it_is_given(
    endpoints: list[str], reached: list[tuple[str, int]]
) -> None:
    from keyless.components.keyless_pulumi_sidecar import KeylessPulumiSidecar
    from keyless.core.pulumi_cloud import TokenType
    from keyless.preview.engine import run_program

    def program() -> None:
        args: Any = {
            "namespace": "ci",
            "organization": "acme",
            "token_type": TokenType.TEAM,
            "team_name": "platform",
            "pod_labels": {"app": "agent"},
            "credential_endpoints": endpoints,
        }
        KeylessPulumiSidecar("agent", args)

    policy = run_program({}, program=program).one("kubernetes:networking.k8s.io/v1:NetworkPolicy").plain_inputs
    rules = [rule for rule in policy["spec"]["egress"] if "to" in rule]
    assert [(r["to"][0]["ipBlock"]["cidr"], r["ports"][0]["port"]) for r in rules] == reached


def test_each_identity_mode_names_the_credential_endpoint_its_pods_need() -> None:
    from keyless import identity
    from keyless.core.kubernetes import CREDENTIAL_ENDPOINTS

    needs = {mode.name: mode.credential_endpoint for mode in identity.modes()}
    assert needs == {
        "irsa": None,
        "podIdentity": "eks-pod-identity-agent",
        "gcpServiceAccount": "gke-metadata-server",
        "direct": "gke-metadata-server",
        "azureWorkloadIdentity": None,
    }
    assert set(filter(None, needs.values())) <= set(CREDENTIAL_ENDPOINTS)
