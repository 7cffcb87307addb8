"""login.sh (the login Job and the canary), run for real under bash with a stand-in ``pulumi`` that
answers ``whoami -v --json`` exactly as the CLI's own tests show it does (pulumi/pulumi
pkg/cmd/pulumi/whoami/whoami_test.go; organization tokens as in REFERENCE section 8):

- organization token: ``tokenInformation`` names the organization;
- team token: ``tokenInformation`` names the team, and the organization is among ``organizations``;
- personal token: no ``tokenInformation``; ``user`` is the login.

"One (or none) of Team or Organization will be set, but not both" (sdk/go/common/workspace/creds.go).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from keyless.core.login_job import LIBRARY_NAME, login_environment, script
from keyless.core.login_request import LoginRequest

SIGNATURE = "c2lnbmF0dXJlLW5ldmVyLXRvLWJlLXByaW50ZWQ"
CLAIMS: dict[str, Any] = {
    "iss": "https://container.googleapis.com/v1/projects/p/locations/l/clusters/c",
    "sub": "system:serviceaccount:ci:runner",
    "aud": ["urn:pulumi:org:acme"],
    "exp": 1893456000,
    "kubernetes.io": {"namespace": "ci", "pod": {"name": "secret-pod-name"}},
}
URL = "https://app.pulumi.com"
ORGANIZATION_TOKEN = {
    "user": "acme",
    "organizations": ["acme"],
    "tokenInformation": {"name": "oidc-exchange", "organization": "acme"},
    "url": URL,
}
TEAM_TOKEN = {
    "user": "user3",
    "organizations": ["acme", "org2"],
    "tokenInformation": {"name": "team-token", "team": "platform"},
    "url": URL,
}
PERSONAL_TOKEN = {"user": "alice", "organizations": ["acme", "org2"], "url": URL}
UNKNOWN_TOKEN = {"user": "user2", "organizations": ["acme"], "tokenInformation": {"name": "bad-token"}, "url": URL}

FAKE_PULUMI = """#!/bin/bash
printf '%s\\n' "$*" >> "$CALLS"
printf 'access-token-set=%s\\n' "${PULUMI_ACCESS_TOKEN+yes}" >> "$CALLS"
if [[ "$1" == login && -n "${FAIL_LOGIN:-}" ]]; then echo "error: token exchange refused" >&2; exit 7; fi
if [[ "$1" == whoami ]]; then cat "$WHOAMI_FILE"; fi
"""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _token(separators: tuple[str, str] = (",", ":")) -> str:
    payload = json.dumps(CLAIMS, separators=separators).encode()
    return ".".join([_b64url(b'{"alg":"RS256"}'), _b64url(payload), SIGNATURE])


def run_login(
    tmp_path: Path,
    request: LoginRequest,
    whoami: dict[str, Any],
    *,
    token: str | None = None,
    **extra: str,
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """login.sh with its library beside it, as the ConfigMap mounts them, and the request's environment."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "pulumi").write_text(FAKE_PULUMI)
    (bin_dir / "pulumi").chmod(0o755)
    for name in ("login.sh", LIBRARY_NAME):
        (tmp_path / name).write_text(script(name))
    token_file = tmp_path / "token"
    if token is not None:
        token_file.write_text(token)
    (tmp_path / "whoami.json").write_text(json.dumps(whoami, indent=4))  # the CLI indents its JSON
    calls = tmp_path / "calls"
    env = {
        **login_environment(request),
        **extra,
        "PULUMI_OIDC_TOKEN_FILE": str(token_file),
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(calls),
        "WHOAMI_FILE": str(tmp_path / "whoami.json"),
        "PULUMI_ACCESS_TOKEN": "pul-should-be-unset",
    }
    result = subprocess.run(
        ["bash", str(tmp_path / "login.sh")], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    return result, calls.read_text().splitlines() if calls.exists() else []


ORGANIZATION = LoginRequest.of("acme", "organization", lifetime="30m")
TEAM = LoginRequest.of("acme", "team", "platform")
PERSONAL = LoginRequest.of("acme", "personal", user_login="alice")


@pytest.mark.parametrize("separators", [(",", ":"), (", ", ": ")], ids=["compact-json", "spaced-json"])
def test_the_token_is_exchanged_from_its_file_and_never_printed(tmp_path: Path, separators: tuple[str, str]) -> None:
    token = _token(separators)
    result, calls = run_login(tmp_path, ORGANIZATION, ORGANIZATION_TOKEN, token=token)
    assert result.returncode == 0, result.stderr
    assert calls[1] == "access-token-set="  # unset before the CLI ran
    assert calls[2] == "whoami -v --json"
    printed = result.stdout + result.stderr
    assert token not in printed and SIGNATURE not in printed and token not in "".join(calls)
    assert "secret-pod-name" not in printed  # only iss, sub, aud and exp are shown
    for expected in (CLAIMS["iss"], CLAIMS["sub"], '["urn:pulumi:org:acme"]', str(CLAIMS["exp"])):
        assert expected in result.stdout


@pytest.mark.parametrize(
    "request_",
    [
        ORGANIZATION,
        TEAM,
        PERSONAL,
        LoginRequest.of("acme", "team", "platform", lifetime="1h30m", backend_url="https://api.pulumi.example.com"),
    ],
    ids=["organization", "team", "personal", "other-backend"],
)
def test_the_shell_library_runs_exactly_the_command_the_request_models(tmp_path: Path, request_: LoginRequest) -> None:
    replies: dict[str, dict[str, Any]] = {"team": TEAM_TOKEN, "personal": PERSONAL_TOKEN}
    reply = replies.get(request_.token_type, ORGANIZATION_TOKEN)
    result, calls = run_login(tmp_path, request_, reply, token=_token())
    assert result.returncode == 0, result.stderr
    expected = LoginRequest(**{**vars(request_), "token_file": str(tmp_path / "token")}).argv()
    assert calls[0] == " ".join(expected[1:])


@pytest.mark.parametrize(
    ("request_", "reply", "shown"),
    [
        (ORGANIZATION, ORGANIZATION_TOKEN, "an organization token for acme (oidc-exchange)"),
        (TEAM, TEAM_TOKEN, "a team token for platform (team-token)"),
        (PERSONAL, PERSONAL_TOKEN, "a personal token of alice"),
    ],
    ids=["organization", "team", "personal"],
)
def test_each_token_type_is_accepted_as_the_cli_reports_it(
    tmp_path: Path, request_: LoginRequest, reply: dict[str, Any], shown: str
) -> None:
    result, _ = run_login(tmp_path, request_, reply, token=_token())
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"Logged in as {reply['user']}; the token obtained:" in lines
    assert f"  {shown}" in lines
    assert "The token obtained is the one the policy intends." in lines
    assert "<none>" not in result.stdout


@pytest.mark.parametrize(
    ("request_", "reply", "expected"),
    [
        (ORGANIZATION, TEAM_TOKEN, "expected an organization token for 'acme'"),
        (ORGANIZATION, PERSONAL_TOKEN, "expected an organization token for 'acme'"),
        (ORGANIZATION, {**ORGANIZATION_TOKEN, "tokenInformation": {"name": "t", "organization": "other"}}, "'acme'"),
        (
            TEAM,
            {**TEAM_TOKEN, "tokenInformation": {"name": "t", "team": "ops"}},
            "expected a team token for 'platform'",
        ),
        (TEAM, {**TEAM_TOKEN, "organizations": ["org2"]}, "expected 'acme' among the organizations"),
        (TEAM, ORGANIZATION_TOKEN, "expected a team token for 'platform'"),
        (PERSONAL, {**PERSONAL_TOKEN, "user": "bob"}, "expected a personal token of 'alice'"),
        (PERSONAL, TEAM_TOKEN, "expected a personal token of 'alice'"),
        (ORGANIZATION, UNKNOWN_TOKEN, "expected an organization token for 'acme'"),
    ],
)
def test_another_token_than_the_intended_one_fails_the_login_with_exit_3(
    tmp_path: Path, request_: LoginRequest, reply: dict[str, Any], expected: str
) -> None:
    result, _ = run_login(tmp_path, request_, reply, token=_token())
    assert result.returncode == 3
    assert "error: the token obtained is not the intended one: " in result.stderr
    assert expected in result.stderr


def test_a_refused_exchange_fails_with_the_clis_status_and_names_the_doctor(tmp_path: Path) -> None:
    command = "keyless doctor --stack dev --from-cluster --workload ci/runner"
    result, calls = run_login(
        tmp_path, ORGANIZATION, ORGANIZATION_TOKEN, token=_token(), FAIL_LOGIN="1", KEYLESS_DOCTOR_COMMAND=command
    )
    assert result.returncode == 7
    assert not any(call.startswith("whoami") for call in calls)
    assert result.stderr.rstrip().splitlines()[-2].strip() == command
    assert "--claims-file" in result.stderr.rstrip().splitlines()[-1]


def test_no_token_file_fails_before_any_exchange(tmp_path: Path) -> None:
    result, calls = run_login(tmp_path, ORGANIZATION, ORGANIZATION_TOKEN)
    assert result.returncode == 1
    assert "no service-account token" in result.stderr
    assert calls == []
