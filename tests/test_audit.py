"""`keyless audit --live` against Pulumi's own REST client: the real ``pulumi-cloud-sdk`` talks to a
loopback HTTP server that serves what Pulumi Cloud would hold, each answer serialized by the SDK's
own models (never a hand-shaped JSON). The organization's state starts as exactly what the stack
registers, then drifts the ways a live organization does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pulumi_cloud_sdk import default_encoder, models

from keyless.cli import main
from keyless.commands.flags import EXIT_CANNOT_RUN, EXIT_FOUND, EXIT_OK
from keyless.doctor import reference
from tests.conftest import ROOT
from tests.oidc_issuer import serve

ORG = "my-pulumi-org"
TOKEN = "pul-0123456789abcdef0123456789abcdef01234567"
ROLE = "4c2f9b7e-6a1d-4e8b-9f3a-2d5c7e1b0a96"


def _policy(wire: dict[str, Any]) -> Any:
    """A policy as the SDK models it, from its wire form (what the stack registers)."""
    return models.AuthPolicyDefinition(
        decision=wire.get("decision", "allow"),
        token_type=wire["tokenType"],
        authorized_permissions=list(wire.get("authorizedPermissions") or []),
        rules=dict(wire["rules"]),
        team_name=wire.get("teamName"),
        user_login=wire.get("userLogin"),
        runner_id=wire.get("runnerID"),
        role_id=wire.get("roleID"),
    )


@dataclass
class Cloud:
    """What Pulumi Cloud holds, and every request it was sent."""

    issuers: list[Any] = field(default_factory=list)
    policies: dict[str, list[Any]] = field(default_factory=dict)
    roles: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)

    def add(self, id_: str, name: str, url: str, wire_policies: list[dict[str, Any]], **issuer: Any) -> None:
        self.issuers.append(models.OidcIssuerRegistrationResponse(id=id_, name=name, url=url, issuer=url, **issuer))
        self.policies[id_] = [_policy(p) for p in wire_policies]

    def answer(self, method: str, path: str) -> tuple[int, Any]:
        if self.status != 200:
            return self.status, {"code": self.status, "message": "refused"}
        base = f"/api/orgs/{ORG}"
        if path == f"{base}/oidc/issuers":
            return 200, models.ListOidcIssuersResponse(oidc_issuers=self.issuers)
        if path.startswith(f"{base}/auth/policies/oidcissuers/"):
            issuer = path.rsplit("/", 1)[1]
            return 200, models.AuthPolicy(id=f"p-{issuer}", version=3, policies=self.policies[issuer])
        if path.startswith(f"{base}/roles/") and path.rsplit("/", 1)[1] in self.roles:
            return 200, self.roles[path.rsplit("/", 1)[1]]
        return 404, {"code": 404, "message": "not found"}


@pytest.fixture
def cloud() -> Iterator[tuple[Cloud, str]]:
    state = Cloud()

    def answer(method: str, path: str, body: bytes) -> tuple[int, Any]:
        status, document = state.answer(method, path)
        return status, default_encoder.sanitize_for_serialization(document)

    with serve(answer, state.requests) as url:
        yield state, url


def _recently() -> str:
    return (datetime.now(UTC) - timedelta(days=1)).isoformat()


def _as_deployed(state: Cloud, stack: str = "dev", id_: str = "iss-1") -> list[dict[str, Any]]:
    """The stack's issuer and policies, exactly as its PulumiCloudTrust registers them."""
    declared = reference.load(stack, ROOT)
    url = declared.issuer.url or f"https://oidc.eks.{declared.issuer.eks_region}.amazonaws.com/id/{'A' * 32}"
    policies = [dict(p) for p in declared.policies]
    state.add(
        id_,
        declared.config.issuer.name,
        url,
        policies,
        max_expiration=declared.max_expiration_seconds,
        created="2026-01-05T10:00:00Z",
        last_used=_recently(),
    )
    return policies


def audit(url: str, capsys: Any, monkeypatch: Any, *args: str) -> tuple[int, dict[str, Any], str]:
    monkeypatch.setenv("PULUMI_ACCESS_TOKEN", TOKEN)
    status = main(["audit", "--live", "--root", str(ROOT), "--backend-url", url, "--json", *args])
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err, "the token is never printed"
    return status, json.loads(captured.out) if captured.out.startswith("{") else {}, captured.err


def _codes(report: dict[str, Any]) -> list[str]:
    return [f["code"] for f in report["findings"]]


def test_an_organization_holding_what_the_stack_declares_is_clean(
    cloud: tuple[Cloud, str], capsys: Any, monkeypatch: Any
) -> None:
    state, url = cloud
    _as_deployed(state)
    state.roles[ROLE] = models.PermissionDescriptorRecord(
        created="2026-01-01T00:00:00Z", modified="2026-01-01T00:00:00Z", id=ROLE, org_id="o", version=1,
        is_org_default=False, name="stack-reader",
    )  # fmt: skip
    status, report, _ = audit(url, capsys, monkeypatch, "--stack", "dev")
    assert (status, report["findings"]) == (EXIT_OK, [])
    assert report["issuer"]["id"] == "iss-1"
    (row,) = report["access"]
    assert row["serviceAccount"] == "pulumi-runner/pulumi-runner"
    assert row["token"] == f"organization token, role stack-reader ({ROLE})"
    # Read-only, as the caller: GETs only, each with the caller's own token.
    assert {method for method, _, _ in state.requests} == {"GET"}
    assert {authorization for _, _, authorization in state.requests} == {f"token {TOKEN}"}


def test_policies_edited_added_or_lost_outside_the_stack_are_drift(
    cloud: tuple[Cloud, str], capsys: Any, monkeypatch: Any
) -> None:
    state, url = cloud
    (mine,) = _as_deployed(state)
    edited = {**mine, "roleID": "0000-admin-role"}
    extra = {
        "decision": "allow",
        "tokenType": "team",
        "teamName": "platform",
        "rules": {"sub": "system:serviceaccount:ci:deployer", "aud": "urn:pulumi:org:my-pulumi-org"},
    }
    state.policies["iss-1"] = [_policy(edited), _policy(extra)]
    status, report, _ = audit(url, capsys, monkeypatch, "--stack", "dev")
    assert status == EXIT_FOUND
    assert _codes(report) == ["policy-drifted", "policy-not-declared"]
    drifted, added = (f["message"] for f in report["findings"])
    assert f"roleID is '0000-admin-role', declared '{ROLE}'" in drifted
    assert "team token for ci/deployer" in added
    # The provider's known gap: given an empty list, it leaves the live policies in place.
    state.policies["iss-1"] = [_policy(extra)]
    _, report, _ = audit(url, capsys, monkeypatch, "--stack", "dev")
    assert _codes(report) == ["policy-not-declared", "policy-not-registered"]
    assert "left by the provider (a policies list it is given empty" in report["findings"][0]["message"]


def test_every_issuer_of_the_organization_is_held_to_the_same_rules(
    cloud: tuple[Cloud, str], capsys: Any, monkeypatch: Any
) -> None:
    state, url = cloud
    _as_deployed(state)
    state.issuers[0].max_expiration = 90000
    wildcard = {"decision": "allow", "tokenType": "organization", "roleID": ROLE, "rules": {"aud": "urn:pulumi:org:x"}}
    long_ago = (datetime.now(UTC) - timedelta(days=200)).isoformat()
    state.add("iss-2", "someone-elses", "https://token.actions.githubusercontent.com", [wildcard], last_used=long_ago)
    status, report, _ = audit(url, capsys, monkeypatch, "--stack", "dev", "--unused-days", "30")
    assert status == EXIT_FOUND
    assert sorted(_codes(report)) == [
        "issuer-unmanaged",
        "issuer-unused",
        "lifetime-above-the-stacks",
        "rule-pins-no-subject",
    ]
    messages = {f["code"]: f["message"] for f in report["findings"]}
    assert "up to 90000s, more than the stack's maxExpirationSeconds (7200s)" in messages["lifetime-above-the-stacks"]
    assert messages["issuer-unused"].startswith("last used ") and "more than 30 days ago" in messages["issuer-unused"]


def test_the_other_committed_stacks_issuers_are_managed(
    cloud: tuple[Cloud, str], capsys: Any, monkeypatch: Any
) -> None:
    """An EKS issuer is known by its name and shape (its id exists only once the cluster does)."""
    state, url = cloud
    _as_deployed(state)
    _as_deployed(state, "eks-dev", "iss-2")
    status, report, _ = audit(url, capsys, monkeypatch, "--stack", "eks-dev")
    assert (status, report["findings"], report["issuer"]["id"]) == (EXIT_OK, [], "iss-2")


def test_a_stack_that_is_not_deployed_has_no_issuer(cloud: tuple[Cloud, str], capsys: Any, monkeypatch: Any) -> None:
    _, url = cloud
    status, report, _ = audit(url, capsys, monkeypatch, "--stack", "dev")
    assert (status, _codes(report)) == (EXIT_FOUND, ["issuer-not-registered"])


def test_what_stops_the_audit_is_one_line_and_exit_2(
    cloud: tuple[Cloud, str], capsys: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    state, url = cloud
    state.status = 403
    status, _, err = audit(url, capsys, monkeypatch, "--stack", "dev")
    assert status == EXIT_CANNOT_RUN
    assert "refused to list my-pulumi-org's OIDC issuers (HTTP 403) for the token from PULUMI_ACCESS_TOKEN" in err
    assert main(["audit", "--stack", "dev", "--root", str(ROOT)]) == EXIT_CANNOT_RUN
    assert "add --live to say so" in capsys.readouterr().err
    monkeypatch.delenv("PULUMI_ACCESS_TOKEN")
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path))
    assert main(["audit", "--live", "--stack", "dev", "--root", str(ROOT), "--backend-url", url]) == EXIT_CANNOT_RUN
    assert f"no credentials: set PULUMI_ACCESS_TOKEN, or run `pulumi login` (no {tmp_path}" in capsys.readouterr().err


def test_the_clis_own_login_is_used_without_a_token_in_the_environment(
    cloud: tuple[Cloud, str], capsys: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    """The CLI's credentials.json (sdk/go/common/workspace/creds.go): accounts keyed by backend URL."""
    state, url = cloud
    _as_deployed(state)
    (tmp_path / "credentials.json").write_text(json.dumps({"current": url, "accessTokens": {url: TOKEN}}))
    monkeypatch.delenv("PULUMI_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path))
    assert main(["audit", "--live", "--stack", "dev", "--root", str(ROOT)]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith(f"clean: stack dev, organization my-pulumi-org at {url} (credentials: {tmp_path}")
    assert TOKEN not in out and {a for _, _, a in state.requests} == {f"token {TOKEN}"}
