"""Pulumi Kubernetes Operator stacks with no token: every rendered Stack against the Operator's own
v2.9.0 CRD, the workspace pod the refresher keeps logged in (for the Operator's UID 1000), no token
anywhere, the lifetime knob, the guardrail and the doctor.
The CRDs are the upstream files in ``tests/reference-data/pko-v2.9.0``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from keyless.cli import main
from keyless.config import ConfigError, load_stack_config
from keyless.policies.offline import violations
from keyless.policies.pack import POLICIES, check_resource
from keyless.record import ProgramRun
from tests.conftest import REFERENCE_DATA, load_stack_file, run_stack
from tests.conftest import crd_errors as validate_crd
from tests.oidc_issuer import token_file

STACK = "kubernetes:pulumi.com/v1:Stack"


def crd_errors(document: dict[str, Any]) -> list[str]:
    return validate_crd(REFERENCE_DATA / "pko-v2.9.0" / "pulumi.com_stacks.yaml", document)


@pytest.fixture(scope="module")
def platform() -> ProgramRun:
    values, secrets = load_stack_file("platform")
    return run_stack(values, secret_keys=tuple(secrets))


def test_every_rendered_stack_is_what_the_operator_v2_9_accepts(platform: ProgramRun) -> None:
    stack = platform.one(STACK).plain_inputs
    assert crd_errors(stack) == []
    spec = stack["spec"]
    assert spec["serviceAccountName"] == "networking" and spec["stack"] == "my-pulumi-org/networking/prod"
    assert (spec["projectRepo"], spec["branch"], spec["repoDir"]) == (
        "https://github.com/my-org/infrastructure",
        "main",
        "networking",
    )
    assert spec["workspaceTemplate"]["spec"]["image"] == "pulumi/pulumi:3.272.0-nonroot", "a pinned workspace"


def test_no_token_anywhere_and_the_guardrails_agree(platform: ProgramRun) -> None:
    spec = platform.one(STACK).plain_inputs["spec"]
    assert "accessTokenSecret" not in spec and "envRefs" not in spec
    assert "PULUMI_ACCESS_TOKEN" not in json.dumps(spec)
    assert not platform.of_type("kubernetes:core/v1:Secret")
    assert [v for v in violations(platform) if v.level == "mandatory"] == []


def test_the_workspace_pod_is_logged_in_before_the_agent_starts(platform: ProgramRun) -> None:
    pod = platform.one(STACK).plain_inputs["spec"]["workspaceTemplate"]["spec"]["podTemplate"]["spec"]
    (sidecar,) = pod["initContainers"]
    assert sidecar["restartPolicy"] == "Always", "a native sidecar, beside the Operator's own init containers"
    assert sidecar["startupProbe"]["exec"]["command"] == ["test", "-f", "/pulumi-credentials/.keyless-ready"]
    env = {e["name"]: e["value"] for e in sidecar["env"]}
    assert env["PULUMI_OIDC_TEAM"] == "platform" and env["PULUMI_OIDC_EXPIRATION"] == "2h"
    # The Operator's restricted profile runs the workspace as 1000:1000; the fsGroup shares the
    # credentials with it (tests/test_refresher.py reads them as UID 1000 across a rotation).
    assert pod["securityContext"] == {"fsGroup": 1000}
    (pulumi,) = pod["containers"]
    assert pulumi["name"] == "pulumi"
    assert {"name": "PULUMI_CREDENTIALS_PATH", "value": "/pulumi-credentials"} in pulumi["env"]
    assert pulumi["volumeMounts"] == [{"name": "keyless-credentials", "mountPath": "/pulumi-credentials"}]
    policies = platform.one("pulumiservice:index:OidcIssuer").plain_inputs["policies"]
    assert [p["rules"]["sub"] for p in policies if p["tokenType"] != "runner"] == [
        "system:serviceaccount:pulumi-stacks:networking"
    ]


def _with_stack(**changes: Any) -> dict[str, str]:
    values, _ = load_stack_file("platform")
    stacks = json.loads(values["keyless:operatorStacks"])
    stacks[0].update(changes)
    return {**values, "keyless:operatorStacks": json.dumps(stacks)}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"longestUpdate": "90m"},
            "keyless:operatorStacks[0].exchangedTokenLifetime: '2h' leaves an update started just before a renewal "
            "3600s of token, less than longestUpdate (5400s): a CLI keeps the token it started with; expected "
            "refreshPercent at most 25 with a lifetime of 7200s (a lifetime of 10800s is more than an issuer grants",
        ),
        (
            {"longestUpdate": "50m", "exchangedTokenLifetime": "1h"},
            "expected a lifetime of at least 6000s, or a lower refreshPercent",
        ),
        (
            {"longestUpdate": "2h"},
            "expected a longestUpdate of at most 6480s: no token an issuer grants outlives a longer update",
        ),
        (
            {"exchangedTokenLifetime": "3h"},
            "keyless:operatorStacks[0].exchangedTokenLifetime: '3h' (10800s) exceeds keyless:issuer.maxExpirationSeconds",
        ),
        (
            {"workload": "pulumi-stacks/nobody"},
            "keyless:operatorStacks[0].workload: 'pulumi-stacks/nobody' names no workload",
        ),
        ({"programRef": "networking"}, "keyless:operatorStacks[0]: names projectRepo and programRef"),
        (
            {"workspaceImage": "pulumi/pulumi:latest-nonroot"},
            "workspaceImage: 'pulumi/pulumi:latest-nonroot' is not pinned",
        ),
    ],
)
def test_what_the_operator_or_a_long_update_would_break_is_refused_at_preview(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_stack_config(_with_stack(**changes), stack="platform")
    assert message in str(error.value)


def test_the_guardrail_flags_an_operator_stack_with_a_stored_token() -> None:
    policy = next(p for p in POLICIES if p.name == "operator-stack-holds-no-access-token")
    props = {
        "spec": {
            "stack": "acme/p/s",
            "accessTokenSecret": "pulumi-api-secret",
            "envRefs": {"PULUMI_ACCESS_TOKEN": {"type": "Secret", "secret": {"name": "t", "key": "k"}}},
        }
    }
    found = check_resource(policy, STACK, props)
    assert any("accessTokenSecret" in f for f in found) and any("envRefs.PULUMI_ACCESS_TOKEN" in f for f in found)


def test_the_doctor_diagnoses_a_workspace_token(tmp_path: Path, capsys: Any) -> None:
    iss = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    path = token_file(tmp_path / "t.jwt", "pulumi-stacks", "networking", "urn:pulumi:org:my-pulumi-org", issuer=iss)
    argv = ["doctor", "--stack", "platform", "--token-file", str(path), "--json"]
    assert main([*argv, "--operator-stack", "pulumi-stacks/networking"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "admitted"
    assert report["request"] == {"token_type": "team", "team": "platform", "user": None, "lifetime_seconds": 7200}
    assert main([*argv, "--operator-stack", "pulumi-stacks/other"]) == 2
    assert "its Operator stacks: pulumi-stacks/networking" in capsys.readouterr().err


def test_the_access_map_shows_each_operator_stack_and_its_account(tmp_path: Path) -> None:
    assert main(["preview", "--stack", "platform", "--quiet", "--out", str(tmp_path)]) == 0
    access = (tmp_path / "platform" / "access-map.md").read_text()
    assert "| `pulumi-stacks/networking` | team token (platform) | arn:aws:iam::&lt;account-id&gt;:role/" in access
    assert "| `pulumi-stacks/networking` | `pulumi-stacks/networking` | `my-pulumi-org/networking/prod` |" in access


@pytest.mark.parametrize("repo", ["http://github.com/my-org/infrastructure", "file:///etc/programs/networking"])
def test_a_program_fetched_unauthenticated_or_from_the_pods_own_disk_is_refused(repo: str) -> None:
    values, _ = load_stack_file("platform")
    stacks = json.loads(values["keyless:operatorStacks"])
    stacks[0]["projectRepo"] = repo
    with pytest.raises(ConfigError) as error:
        load_stack_config({**values, "keyless:operatorStacks": json.dumps(stacks)}, stack="platform")
    assert f"keyless:operatorStacks[0].projectRepo: '{repo}' is not a Git repository URL fetched over" in str(
        error.value
    )
