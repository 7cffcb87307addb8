"""The guardrails, called the way the policy server calls them: wire-form (camelCase) inputs in a
proxy that raises on an unknown value. Each policy has a failing and a passing case."""

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from keyless.cli import main
from keyless.core.login_job import login_script
from keyless.policies.pack import POLICIES, STACK_POLICIES, Policy, Resource, StackPolicy, check_resource, check_stack
from tests.conftest import ROOT, stack_flags, stack_names

UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's marker for an unknown string
SAMPLE = ROOT / "tests" / "samples" / "published-style"


class UnknownValueError(Exception):
    """What pulumi_policy raises when a policy touches a value unknown during preview."""


class ServerProps(Mapping[str, Any]):
    """The policy server's view of inputs: reading an unknown raises."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        if value == UNKNOWN_STRING:
            raise UnknownValueError(key)
        return ServerProps(value) if isinstance(value, Mapping) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def violations(name: str, resource_type: str, props: dict[str, Any], config: dict[str, Any] | None = None) -> list[str]:
    policy = next(p for p in POLICIES if p.name == name)
    return check_resource(policy, resource_type, ServerProps(props), config)


ISSUER = "pulumiservice:index:OidcIssuer"
CLUSTER_STORE = "kubernetes:external-secrets.io/v1:ClusterSecretStore"
GOOD_RULES = {
    "sub": "system:serviceaccount:ci:runner",
    '"kubernetes.io".namespace': "ci",
    '"kubernetes.io".serviceaccount.name': "runner",
}


def _issuer(**changes: Any) -> dict[str, Any]:
    return {
        "organization": "acme",
        "name": "gke",
        "url": "https://container.googleapis.com/v1/projects/p/locations/l/clusters/c",
        "maxExpirationSeconds": 3600,
        "policies": [{"decision": "allow", "tokenType": "organization", "roleID": "r-1", "rules": GOOD_RULES}],
        **changes,
    }


def _policy(**changes: Any) -> dict[str, Any]:
    return _issuer(policies=[{"decision": "allow", "tokenType": "organization", "roleID": "r-1", **changes}])


CASES = [
    ("issuer-policy-pins-the-subject", ISSUER, _policy(rules={"aud": "urn:pulumi:org:acme"}), "pins neither sub"),
    ("issuer-policy-pins-the-subject", ISSUER, _policy(rules={"sub": "system:serviceaccount:ci:*"}), "pins neither"),
    ("issuer-policy-pins-the-subject", ISSUER, _policy(rules={}), "admits every token"),
    ("issuer-claim-paths-quoted", ISSUER, _policy(rules={**GOOD_RULES, "kubernetes.io.namespace": "ci"}), "not quoted"),
    (
        "esc-cluster-store-names-its-namespaces",
        CLUSTER_STORE,
        {"spec": {"provider": {"pulumi": {"organization": "acme"}}}},
        "has no spec.conditions: every namespace's ExternalSecrets may read",
    ),
    (
        "esc-cluster-store-names-its-namespaces",
        CLUSTER_STORE,
        {"spec": {"conditions": [{"namespaceRegexes": [".*"]}], "provider": {"pulumi": {"organization": "acme"}}}},
        "namespaceRegexes matches every namespace",
    ),
    (
        "issuer-trusts-no-shared-account",
        ISSUER,
        _policy(rules={"sub": "system:serviceaccount:apps:default"}),
        "service account 'default' is every pod's account",
    ),
    (
        "issuer-trusts-no-shared-account",
        ISSUER,
        _policy(rules={'"kubernetes.io".namespace': "kube-system", '"kubernetes.io".serviceaccount.name': "x"}),
        "namespace 'kube-system' is the cluster's own namespace",
    ),
    ("issuer-url-is-an-issuer", ISSUER, _issuer(url="http://oidc.example.com"), "is not an OIDC issuer URL"),
    ("issuer-thumbprints-unpinned", ISSUER, _issuer(thumbprints=["a" * 40]), "thumbprints are pinned"),
    ("issuer-token-lifetime-capped", ISSUER, _issuer(maxExpirationSeconds=90000), "expected at most 7200"),
    (
        "issuer-url-is-its-clusters-iss",
        ISSUER,
        _issuer(url="https://container.googleapis.com/v1/projects/p/locations/l/clusters/c/"),
        "ends with '/'; GKE tokens' iss has none",
    ),
    (
        "issuer-url-is-its-clusters-iss",
        ISSUER,
        _issuer(
            url="https://eastus.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/2f3c5a5e-1111-2222-3333-444455556666"
        ),
        "has no trailing '/'; AKS tokens' iss ends with one",
    ),
    (
        "organization-token-names-a-role",
        ISSUER,
        _issuer(
            policies=[
                {
                    "decision": "allow",
                    "tokenType": "organization",
                    "authorizedPermissions": ["admin"],
                    "rules": GOOD_RULES,
                }
            ]
        ),
        "legacy authorizedPermissions",
    ),
]
ESC_STORE = "kubernetes:external-secrets.io/v1:SecretStore"
CASES += [
    (
        "esc-store-holds-no-access-token",
        ESC_STORE,
        {"spec": {"provider": {"pulumi": {"auth": {"accessToken": {"secretRef": {"name": "t"}}}}}}},
        "stored access token",
    ),
    (
        "esc-store-audience-is-pulumis",
        ESC_STORE,
        {"spec": {"provider": {"pulumi": {"auth": {"oidcConfig": {"organization": "acme"}}}}}},
        "does not name 'urn:pulumi:org:acme'",
    ),
]
OPERATOR_STACK = "kubernetes:pulumi.com/v1:Stack"
CASES += [
    (
        "operator-stack-holds-no-access-token",
        OPERATOR_STACK,
        {"spec": {"stack": "acme/p/s", "accessTokenSecret": "pulumi-api-secret"}},
        "accessTokenSecret hands the workspace a stored Pulumi token",
    ),
    (
        "azure-role-not-subscription-wide",
        "azure-native:authorization:RoleAssignment",
        {
            "roleDefinitionId": "/subscriptions/00000000-0000-4000-8000-000000000000/providers/Microsoft.Authorization/"
            "roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
            "scope": "/subscriptions/00000000-0000-4000-8000-000000000000",
        },
        "grants Contributor on the whole subscription 00000000-0000-4000-8000-000000000000",
    ),
    (
        "workflow-runner-exchanges-its-token",
        "kubernetes:batch/v1:Job",
        {
            "spec": {
                "template": {
                    "spec": {"containers": [{"name": "agent", "env": [{"name": "PULUMI_AGENT_TOKEN", "value": "x"}]}]}
                }
            }
        },
        "sets PULUMI_AGENT_TOKEN, a stored pool token",
    ),
]
HOST = "oidc.eks.us-west-2.amazonaws.com/id/0F1E2D3C4B5A69788796A5B4C3D2E1F0"


def _irsa(conditions: dict[str, Any]) -> dict[str, Any]:
    return {
        "assumeRolePolicy": json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{HOST}"},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": conditions,
                    }
                ],
            }
        )
    }


GOOD_IRSA = {"StringEquals": {f"{HOST}:aud": "sts.amazonaws.com", f"{HOST}:sub": "system:serviceaccount:ci:r"}}
CASES += [
    (
        "irsa-trust-pins-audience-and-subject",
        "aws:iam/role:Role",
        _irsa({"StringEquals": {f"{HOST}:sub": "system:serviceaccount:ci:r"}}),
        "no '<issuer>:aud'",
    ),
    (
        "irsa-trust-pins-audience-and-subject",
        "aws:iam/role:Role",
        _irsa({"StringEquals": {f"{HOST}:aud": "sts.amazonaws.com"}}),
        "no '<issuer>:sub'",
    ),
    (
        "irsa-trust-pins-audience-and-subject",
        "aws:iam/role:Role",
        _irsa(
            {
                "StringEquals": {f"{HOST}:aud": "sts.amazonaws.com"},
                "StringLike": {f"{HOST}:sub": "system:serviceaccount:ci:r"},
            }
        ),
        "StringLike on",
    ),
    (
        "irsa-trust-pins-audience-and-subject",
        "aws:iam/role:Role",
        _irsa({"StringEquals": {f"{HOST}:aud": "sts.amazonaws.com", f"{HOST}:sub": "system:serviceaccount:ci:*"}}),
        "compares literally",
    ),
    (
        "iam-trust-policy-fits-the-quota",
        "aws:iam/role:Role",
        _irsa(
            {
                "StringEquals": {
                    f"{HOST}:aud": "sts.amazonaws.com",
                    f"{HOST}:sub": [f"system:serviceaccount:ns:sa-{i}" for i in range(60)],
                }
            }
        ),
        "over IAM's ACLSizePerRole quota of 2048",
    ),
    (
        "pod-identity-trust-allows-both-actions",
        "aws:iam/role:Role",
        {
            "assumeRolePolicy": json.dumps(
                {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "pods.eks.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ]
                }
            )
        },
        "needs both sts:AssumeRole and sts:TagSession",
    ),
    (
        "pod-identity-trust-scoped",
        "aws:iam/role:Role",
        {
            "assumeRolePolicy": json.dumps(
                {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "pods.eks.amazonaws.com"},
                            "Action": ["sts:AssumeRole", "sts:TagSession"],
                            "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:eks:us-west-2:1:cluster/c"}},
                        }
                    ]
                }
            )
        },
        "no session-tag condition scopes it to a cluster",
    ),
    (
        "workload-identity-user-names-one-service-account",
        "gcp:serviceaccount/iAMMember:IAMMember",
        {
            "role": "roles/iam.workloadIdentityUser",
            "member": "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p.svc.id.goog/*",
        },
        "grants the whole workload identity pool",
    ),
    (
        "no-stored-pulumi-token",
        "kubernetes:core/v1:Secret",
        {"data": {"token": "cHVsLTAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVm"}},
        "data.token holds a stored Pulumi token",
    ),
]


def _job(**container: Any) -> dict[str, Any]:
    volume = {
        "name": "t",
        "projected": {"sources": [{"serviceAccountToken": {"audience": "urn:pulumi:org:acme", "path": "token"}}]},
    }
    base = {
        "name": "login",
        "image": "pulumi/pulumi-base:3.272.0",
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "t", "mountPath": "/var/run/secrets/pulumi"}],
    }
    return {"spec": {"template": {"spec": {"containers": [{**base, **container}], "volumes": [volume]}}}}


CASES += [
    (
        "no-stored-pulumi-token",
        "kubernetes:batch/v1:Job",
        _job(env=[{"name": "PULUMI_ACCESS_TOKEN", "value": "x"}]),
        "stored Pulumi token",
    ),
    ("login-pod-hardened", "kubernetes:batch/v1:Job", _job(image="pulumi/pulumi:latest"), "is not pinned"),
    (
        "login-pod-hardened",
        "kubernetes:batch/v1:Job",
        _job(securityContext={"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}),
        "non-root numeric UID",
    ),
    (
        "login-pod-hardened",
        "kubernetes:batch/v1:Job",
        _job(volumeMounts=[{"name": "t", "mountPath": "/t/token", "subPath": "token"}]),
        "subPath",
    ),
    (
        "login-keeps-the-token-secret",
        "kubernetes:core/v1:ConfigMap",
        {"data": {"run.sh": "T=$(cat /var/run/secrets/pulumi/token)\necho $T"}},
        "prints the token",
    ),
    (
        "login-keeps-the-token-secret",
        "kubernetes:batch/v1:Job",
        _job(command=["pulumi", "login", "--oidc-token", "$(TOKEN)"]),
        "on the command line",
    ),
]
PASSING: dict[str, dict[str, Any]] = {
    OPERATOR_STACK: {"spec": {"stack": "acme/p/s", "workspaceTemplate": {"spec": {"podTemplate": {"spec": {}}}}}},
    ESC_STORE: {
        "spec": {
            "provider": {
                "pulumi": {
                    "organization": "acme",
                    "project": "p",
                    "environment": "e",
                    "auth": {
                        "oidcConfig": {
                            "organization": "acme",
                            "serviceAccountRef": {"name": "esc", "audiences": ["urn:pulumi:org:acme"]},
                        }
                    },
                }
            }
        }
    },
    CLUSTER_STORE: {
        "spec": {
            "conditions": [{"namespaces": ["payments"]}],
            "provider": {"pulumi": {"organization": "acme", "project": "p", "environment": "e"}},
        }
    },
    ISSUER: _issuer(),
    "aws:iam/role:Role": _irsa(GOOD_IRSA),
    "gcp:serviceaccount/iAMMember:IAMMember": {
        "role": "roles/iam.workloadIdentityUser",
        "member": "serviceAccount:p.svc.id.goog[ci/runner]",
    },
    "kubernetes:core/v1:Secret": {"stringData": {"ca.crt": "-----BEGIN CERTIFICATE-----"}},
    "kubernetes:batch/v1:Job": _job(command=["/opt/pulumi-oidc/login.sh"]),
    "azure-native:authorization:RoleAssignment": {
        "roleDefinitionId": "/subscriptions/00000000-0000-4000-8000-000000000000/providers/Microsoft.Authorization/"
        "roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
        "scope": "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/app",
    },
    "kubernetes:core/v1:ConfigMap": {"data": {"login.sh": login_script()}},
}


@pytest.mark.parametrize(("policy", "resource_type", "props", "expected"), CASES)
def test_each_policy_reports_its_case(policy: str, resource_type: str, props: dict[str, Any], expected: str) -> None:
    found = violations(policy, resource_type, props)
    assert any(expected in message for message in found), found


@pytest.mark.parametrize("policy", sorted({case[0] for case in CASES}))
def test_each_policy_passes_a_well_formed_resource(policy: str) -> None:
    resource_type = next(case[1] for case in CASES if case[0] == policy)
    assert violations(policy, resource_type, PASSING[resource_type]) == []


def test_every_resource_policy_has_a_case_and_a_fix() -> None:
    assert {p.name for p in POLICIES} == {case[0] for case in CASES}
    every: list[Policy | StackPolicy] = [*POLICIES, *STACK_POLICIES]
    for policy in every:
        assert policy.enforcement in ("mandatory", "advisory") and len(policy.description) > 60


def test_caps_are_configurable() -> None:
    assert (
        violations("issuer-token-lifetime-capped", ISSUER, _issuer(maxExpirationSeconds=9000), {"maxSeconds": 10800})
        == []
    )
    big = CASES[[c[0] for c in CASES].index("iam-trust-policy-fits-the-quota")][2]
    assert violations("iam-trust-policy-fits-the-quota", "aws:iam/role:Role", big, {"maxCharacters": 8192}) == []


@pytest.mark.parametrize("policy", sorted({p.name for p in POLICIES}))
def test_unknown_values_mean_cannot_judge_yet(policy: str) -> None:
    """A real preview of a new cluster: the issuer URL, the trust policy, whole specs are unknown."""
    for resource_type in next(p for p in POLICIES if p.name == policy).resource_types:
        props = {
            key: UNKNOWN_STRING
            for key in (
                "url",
                "policies",
                "maxExpirationSeconds",
                "assumeRolePolicy",
                "member",
                "role",
                "data",
                "stringData",
                "spec",
            )
        }
        assert violations(policy, resource_type, props) == []
    assert violations("issuer-policy-pins-the-subject", ISSUER, _issuer(url=UNKNOWN_STRING)) == []
    assert violations("issuer-url-is-an-issuer", ISSUER, _issuer(url=UNKNOWN_STRING)) == []


def _stack_check(name: str, resources: list[Resource]) -> list[tuple[str, str]]:
    policy = next(p for p in STACK_POLICIES if p.name == name)
    return check_stack(policy, [Resource(r.type, r.name, ServerProps(r.props), r.parent_type) for r in resources])


def test_gke_node_pools_of_a_workload_identity_cluster_use_the_metadata_server() -> None:
    cluster = Resource(
        "gcp:container/cluster:Cluster", "c", {"workloadIdentityConfig": {"workloadPool": "p.svc.id.goog"}}
    )
    bad = Resource(
        "gcp:container/nodePool:NodePool", "pool", {"nodeConfig": {"workloadMetadataConfig": {"mode": "GCE_METADATA"}}}
    )
    good = Resource(
        "gcp:container/nodePool:NodePool", "pool", {"nodeConfig": {"workloadMetadataConfig": {"mode": "GKE_METADATA"}}}
    )
    assert _stack_check("gke-node-pools-use-the-metadata-server", [cluster, bad])[0][0] == "pool"
    assert _stack_check("gke-node-pools-use-the-metadata-server", [cluster, good]) == []


def test_no_orphan_trust_between_issuer_policies_and_declared_workloads() -> None:
    issuer = Resource(ISSUER, "issuer", _issuer())
    declared = Resource(
        "kubernetes:core/v1:ServiceAccount",
        "ci.runner",
        {"metadata": {"namespace": "ci", "name": "runner"}},
        "keyless:index:WorkloadServiceAccount",
    )
    other = Resource(
        "kubernetes:core/v1:ServiceAccount",
        "ci.other",
        {"metadata": {"namespace": "ci", "name": "other"}},
        "keyless:index:WorkloadServiceAccount",
    )
    assert _stack_check("issuer-trust-matches-declared-workloads", [issuer, declared]) == []
    orphan = _stack_check("issuer-trust-matches-declared-workloads", [issuer])
    assert orphan and "trusts ci/runner, a service account this stack does not declare" in orphan[0][1]
    untrusted = _stack_check("issuer-trust-matches-declared-workloads", [issuer, declared, other])
    assert untrusted == [("ci.other", "workload ci/other has no policy on the stack's issuer")]


def test_keyless_check_names_each_flaw_of_a_program_written_like_the_published_samples(capsys: Any) -> None:
    assert main(["check", "--program", str(SAMPLE)]) == 1
    out = capsys.readouterr().out
    for expected in (
        "prints the token (echo $OIDC_TOKEN)",
        "passes the token itself to --oidc-token",
        "image 'pulumi/pulumi:latest' is not pinned",
        "does not run as a non-root numeric UID",
        "no '<issuer>:aud' condition equal to 'sts.amazonaws.com'",
        "pins neither sub exactly",
        "stringData.PULUMI_ACCESS_TOKEN holds a stored Pulumi token",
    ):
        assert expected in out, expected


def test_the_committed_stacks_pass_every_policy(capsys: Any) -> None:
    assert main(["check", *stack_flags()]) == 0
    assert capsys.readouterr().out.count("no policy violations") == len(stack_names())


def test_the_built_pack_is_self_contained_and_versioned(tmp_path: Path) -> None:
    import yaml

    from keyless import __version__
    from keyless.policies.build import build

    written = build(tmp_path)
    project = yaml.safe_load((tmp_path / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python" and project["version"] == __version__
    requirements = [
        line for line in (tmp_path / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")
    ]
    assert requirements == ["pulumi-policy>=1.21,<2", "protobuf>=5.29.6,<6", "pulumi>=3.260.0,<4.0.0"]
    assert "serve(pulumi_policy)" in (tmp_path / "__main__.py").read_text()
    vendored = {
        path.relative_to(tmp_path).as_posix() for path in written if path.parts[len(tmp_path.parts)] == "keyless"
    }
    assert "keyless/policies/pack.py" in vendored and "keyless/core/pulumi_cloud.py" in vendored
    assert not any(name.startswith(("keyless/preview", "keyless/config", "keyless/commands")) for name in vendored)
    assert build(tmp_path) == written  # rebuilding replaces the copy


def test_every_stack_preview_carries_its_policy_report_and_access_map(tmp_path: Path) -> None:
    assert main(["preview", "existing-dev", "--quiet", "--out", str(tmp_path)]) == 0
    access = (tmp_path / "existing-dev" / "access-map.md").read_text()
    assert "| `ci/ci-runner` | team token (platform) |" in access
    assert "⚠ broad grant arn:aws:iam::aws:policy/PowerUserAccess" in access
    assert "```mermaid" in access
    assert "no policy violations" in (tmp_path / "existing-dev" / "policy.txt").read_text()
