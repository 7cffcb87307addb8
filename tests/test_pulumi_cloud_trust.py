import re
from typing import Any

import pytest

from keyless.components.pulumi_cloud_trust import PulumiCloudTrust, WorkloadPolicy
from keyless.core.problems import InvalidArgumentError
from keyless.core.pulumi_cloud import (
    WORKLOAD_POLICY,
    PermissionLevel,
    TokenType,
    issuer_url,
    policy_rules,
    pulumi_audience,
)
from keyless.preview.engine import ProgramRun
from tests.conftest import run_component

GKE_ISSUER = "https://container.googleapis.com/v1/projects/p/locations/us-central1/clusters/c"


def test_rules_pin_subject_and_namespace_claims_but_not_audience_by_default() -> None:
    assert policy_rules("ci", "runner") == {
        "sub": "system:serviceaccount:ci:runner",
        '"kubernetes.io".namespace': "ci",
        '"kubernetes.io".serviceaccount.name': "runner",
    }


def test_rules_pin_audience_when_asked() -> None:
    rules = policy_rules("ci", "runner", pulumi_audience("acme"))
    assert rules["aud"] == "urn:pulumi:org:acme"
    assert rules["sub"] == "system:serviceaccount:ci:runner"


AKS_ISSUER = "https://westeurope.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/11111111-2222-3333-4444-555555555555/"


@pytest.mark.parametrize(
    "url",
    [
        "http://oidc.example.com",
        "",
        "https://",
        "https:///path",
        GKE_ISSUER + "?x=1",
        GKE_ISSUER + "#f",
        " " + GKE_ISSUER,
        GKE_ISSUER + "\n",
        None,
    ],
)
def test_only_what_cannot_be_an_issuer_is_refused(url: str) -> None:
    problems = issuer_url("issuer_url", url)
    assert re.search(r"issuer_url: .* is not an OIDC issuer URL; expected the exact 'iss' claim", str(problems[0]))


@pytest.mark.parametrize(
    "url", [GKE_ISSUER, AKS_ISSUER, "https://oidc.example.com", "https://kind.example.com:8443/x/"]
)
def test_an_issuer_is_kept_byte_for_byte_trailing_slash_included(url: str) -> None:
    assert issuer_url("issuer_url", url) == []


def test_an_aks_issuer_is_registered_exactly_as_given() -> None:
    workloads: list[WorkloadPolicy] = [
        {"namespace": "ci", "service_account": "r", "token_type": TokenType.TEAM, "team_name": "t"}
    ]
    run = run_component(
        lambda: PulumiCloudTrust(
            "aks", {"organization": "acme", "issuer_url": AKS_ISSUER, "issuer_name": "aks", "workloads": workloads}
        )
    )
    assert _issuer(run)["url"] == AKS_ISSUER


@pytest.mark.parametrize(
    ("workload", "message"),
    [
        ({"token_type": "team"}, "token_type 'team' needs team_name"),
        ({"token_type": "personal"}, "token_type 'personal' needs user_login"),
        ({"token_type": "runner"}, "token_type 'runner' needs runner_id"),
        ({"token_type": "organization"}, "needs exactly one of authorized_permissions or role_id"),
        (
            {"token_type": "organization", "authorized_permissions": ["admin"], "role_id": "r"},
            "needs exactly one of",
        ),
        ({"token_type": "team", "team_name": "t", "user_login": "u"}, "user_login does not apply to token_type 'team'"),
        ({"token_type": "organization", "authorized_permissions": ["root"]}, r"authorized_permissions\[0\]: 'root'"),
        ({"token_type": "robot"}, "token_type: 'robot' is not accepted; expected one of: organization, team"),
    ],
)
def test_each_token_type_requires_its_companion_only(workload: dict[str, object], message: str) -> None:
    problems = WORKLOAD_POLICY.check({"namespace": "ci", "service_account": "runner", **workload}, "workloads[0]")
    assert re.search(message, "\n".join(map(str, problems)))


def _issuer(run: ProgramRun) -> dict[str, Any]:
    return run.one("pulumiservice:index:OidcIssuer").plain_inputs


def test_issuer_registers_one_allow_policy_per_workload_for_all_token_types() -> None:
    workloads: list[WorkloadPolicy] = [
        {
            "namespace": "a",
            "service_account": "org",
            "token_type": TokenType.ORGANIZATION,
            "authorized_permissions": [PermissionLevel.ADMIN],
        },
        {"namespace": "a", "service_account": "team", "token_type": TokenType.TEAM, "team_name": "platform"},
        {"namespace": "b", "service_account": "me", "token_type": TokenType.PERSONAL, "user_login": "alice"},
        {"namespace": "b", "service_account": "agent", "token_type": TokenType.RUNNER, "runner_id": "r-1"},
    ]
    run = run_component(
        lambda: PulumiCloudTrust(
            "trust",
            {"organization": "acme", "issuer_url": GKE_ISSUER, "issuer_name": "gke-dev", "workloads": workloads},
        )
    )
    issuer = _issuer(run)
    assert issuer["organization"] == "acme"
    assert issuer["url"] == GKE_ISSUER
    assert issuer["maxExpirationSeconds"] == 7200
    assert "thumbprints" not in issuer
    policies = issuer["policies"]
    assert [p["decision"] for p in policies] == ["allow"] * 4
    assert [p["tokenType"] for p in policies] == ["organization", "team", "personal", "runner"]
    assert policies[0]["authorizedPermissions"] == ["admin"]
    assert policies[1]["teamName"] == "platform"
    assert policies[2]["userLogin"] == "alice"
    assert policies[3]["runnerID"] == "r-1"  # the provider spells this wire field runnerID
    assert [p["rules"]["sub"] for p in policies] == [
        "system:serviceaccount:a:org",
        "system:serviceaccount:a:team",
        "system:serviceaccount:b:me",
        "system:serviceaccount:b:agent",
    ]
    # The audience is pinned by default: a token minted for another audience (IRSA's) is refused.
    assert all(p["rules"]["aud"] == "urn:pulumi:org:acme" for p in policies)


def test_the_audience_rule_is_dropped_only_on_purpose() -> None:
    run = run_component(
        lambda: PulumiCloudTrust(
            "trust",
            {
                "organization": "acme",
                "issuer_url": GKE_ISSUER,
                "issuer_name": "gke-dev",
                "pin_audience": False,
                "max_expiration_seconds": 3600,
                "workloads": [
                    {"namespace": "ci", "service_account": "r", "token_type": TokenType.TEAM, "team_name": "t"}
                ],
            },
        )
    )
    issuer = _issuer(run)
    assert "aud" not in issuer["policies"][0]["rules"]
    assert issuer["policies"][0]["rules"]["sub"] == "system:serviceaccount:ci:r"
    assert issuer["maxExpirationSeconds"] == 3600


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"workloads": []}, "workloads: \\[\\] is empty"),
        ({"issuer_url": GKE_ISSUER + "?x"}, "issuer_url: .* is not an OIDC issuer URL"),
        ({"organization": " "}, "organization: ' ' is empty"),
        ({"max_expiration_seconds": 100}, "max_expiration_seconds: 100 is out of range"),
        (
            {
                "workloads": [
                    {"namespace": "ci", "service_account": "r", "token_type": "team", "team_name": "t"},
                    {"namespace": "ci", "service_account": "r", "token_type": "personal", "user_login": "u"},
                ]
            },
            "workloads\\[1\\]: namespace/service_account ci/r repeats workloads\\[0\\]",
        ),
    ],
)
def test_bad_arguments_fail_before_any_resource_is_registered(args: dict[str, object], message: str) -> None:
    base = {
        "organization": "acme",
        "issuer_url": GKE_ISSUER,
        "issuer_name": "n",
        "workloads": [{"namespace": "ci", "service_account": "r", "token_type": "team", "team_name": "t"}],
    }
    from keyless.preview.engine import run_program

    run = run_program({}, program=lambda: PulumiCloudTrust("trust", {**base, **args}), raise_errors=False)  # type: ignore[typeddict-item]
    assert isinstance(run.error, InvalidArgumentError)
    assert __import__("re").search(message, str(run.error))
    assert run.registrations == []
