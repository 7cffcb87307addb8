import json
from typing import Any

import pulumi
import pytest

from keyless.components.eks_cluster import EksCluster, EksClusterArgs
from keyless.components.eks_oidc_provider import EksOidcProvider
from keyless.components.irsa_role import IrsaRole, ServiceAccountRef
from keyless.core.aws import DEFAULT_TRUST_POLICY_LIMIT, eks_kubeconfig, irsa_trust_policy, policy_json
from keyless.core.problems import InvalidArgumentError
from keyless.preview.engine import EXAMPLE_EKS_OIDC_ID, Secret, run_program
from tests.conftest import run_component

ISSUER = f"https://oidc.eks.us-west-2.amazonaws.com/id/{EXAMPLE_EKS_OIDC_ID}"
HOST = ISSUER.removeprefix("https://")
PROVIDER_ARN = f"arn:aws:iam::123456789012:oidc-provider/{HOST}"


def test_trust_policy_admits_one_service_account_for_sts_only() -> None:
    assert irsa_trust_policy(PROVIDER_ARN, HOST, ["system:serviceaccount:ci:runner"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER_ARN},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{HOST}:aud": "sts.amazonaws.com",
                        f"{HOST}:sub": "system:serviceaccount:ci:runner",
                    }
                },
            }
        ],
    }


def test_several_service_accounts_share_a_role_as_a_list() -> None:
    subjects = ["system:serviceaccount:ci:a", "system:serviceaccount:ci:b"]
    condition = irsa_trust_policy(PROVIDER_ARN, HOST, subjects)["Statement"][0]["Condition"]
    assert condition == {"StringEquals": {f"{HOST}:aud": "sts.amazonaws.com", f"{HOST}:sub": subjects}}


def test_wildcards_switch_only_the_subject_to_string_like() -> None:
    condition = irsa_trust_policy(PROVIDER_ARN, HOST, ["system:serviceaccount:team-*:runner"])["Statement"][0][
        "Condition"
    ]
    assert condition == {
        "StringEquals": {f"{HOST}:aud": "sts.amazonaws.com"},
        "StringLike": {f"{HOST}:sub": "system:serviceaccount:team-*:runner"},
    }


def _role_args(service_accounts: list[ServiceAccountRef], **extra: object) -> dict[str, object]:
    return {"oidc_provider_arn": PROVIDER_ARN, "issuer_url": ISSUER, "service_accounts": service_accounts, **extra}


def test_role_trust_policy_is_built_from_resolved_outputs() -> None:
    def build() -> None:
        provider = EksOidcProvider("oidc", {"issuer_url": ISSUER})
        role = IrsaRole(
            "irsa",
            {
                "oidc_provider_arn": provider.arn,
                "issuer_url": pulumi.Output.from_input(ISSUER),
                "service_accounts": [{"namespace": "ci", "name": "runner"}],
                "managed_policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
                "permissions_boundary": "arn:aws:iam::123456789012:policy/boundary",
            },
        )
        pulumi.export("arn", role.arn)

    run = run_component(build)
    provider = run.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider").plain_inputs
    assert provider == {"url": ISSUER, "clientIdLists": ["sts.amazonaws.com"]}  # no thumbprint by default
    role = run.one("aws:iam/role:Role").plain_inputs
    trust = json.loads(role["assumeRolePolicy"])
    assert trust == irsa_trust_policy(PROVIDER_ARN, HOST, ["system:serviceaccount:ci:runner"])
    assert role["permissionsBoundary"] == "arn:aws:iam::123456789012:policy/boundary"
    attachment = run.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment").plain_inputs
    assert attachment["policyArn"] == "arn:aws:iam::aws:policy/ReadOnlyAccess"
    assert run.outputs["arn"].startswith("arn:aws:iam::123456789012:role/")


def test_thumbprint_is_passed_when_given() -> None:
    run = run_component(lambda: EksOidcProvider("oidc", {"issuer_url": ISSUER, "thumbprints": ["a" * 40]}))
    assert run.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider").plain_inputs["thumbprintLists"] == ["a" * 40]


def _many(count: int) -> list[ServiceAccountRef]:
    return [{"namespace": f"team-{index:02d}", "name": "deployment-runner"} for index in range(count)]


def test_trust_policy_over_the_quota_fails_before_registration_even_with_unknown_issuer() -> None:
    def build() -> None:
        not_known: Any = pulumi.Output.from_input(False).future()  # as an issuer is at preview
        unknown_issuer = pulumi.Output(set(), pulumi.Output.from_input(ISSUER).future(), not_known)
        IrsaRole("irsa", _role_args(_many(40), issuer_url=unknown_issuer))  # type: ignore[arg-type]

    run = run_program({}, program=build, raise_errors=False)
    assert isinstance(run.error, InvalidArgumentError)
    assert "over IAM's ACLSizePerRole quota of 2048" in str(run.error)
    assert run.registrations == []


def test_the_largest_policy_the_guard_admits_really_fits() -> None:
    subjects = [f"system:serviceaccount:{r['namespace']}:{r['name']}" for r in _many(40)]
    admitted = max(
        n
        for n in range(1, 40)
        if len(
            policy_json(
                irsa_trust_policy("arn:aws-us-gov:iam::123456789012:oidc-provider/" + "x" * 72, "x" * 72, subjects[:n])
            )
        )
        <= DEFAULT_TRUST_POLICY_LIMIT
    )
    run_component(lambda: IrsaRole("irsa", _role_args(_many(admitted))))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        run_program({}, program=lambda: IrsaRole("irsa", _role_args(_many(admitted + 1))))  # type: ignore[arg-type]


def test_raised_quota_admits_a_larger_policy() -> None:
    run = run_component(lambda: IrsaRole("irsa", _role_args(_many(40), max_trust_policy_size=8192)))  # type: ignore[arg-type]
    trust = json.loads(run.one("aws:iam/role:Role").plain_inputs["assumeRolePolicy"])
    assert len(trust["Statement"][0]["Condition"]["StringEquals"][f"{HOST}:sub"]) == 40


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"service_accounts": []}, "service_accounts: [] is not accepted"),
        ({"service_accounts": [{"namespace": "CI", "name": "r"}]}, "service_accounts[0].namespace: 'CI'"),
        (
            {"service_accounts": [{"namespace": "ci", "name": "r"}, {"namespace": "ci", "name": "r"}]},
            "system:serviceaccount:ci:r listed twice",
        ),
        (
            {"managed_policy_arns": ["ReadOnlyAccess"]},
            "managed_policy_arns[0]: 'ReadOnlyAccess' is not a managed policy ARN",
        ),
        ({"issuer_url": ISSUER + "/"}, "issuer_url: '" + ISSUER + "/' names another issuer than oidc_provider_arn"),
    ],
)
def test_bad_role_arguments_are_rejected(override: dict[str, object], message: str) -> None:
    args = {**_role_args([{"namespace": "ci", "name": "r"}]), **override}
    run = run_program({}, program=lambda: IrsaRole("irsa", args), raise_errors=False)  # type: ignore[arg-type]
    assert message in str(run.error)
    assert run.registrations == []


CLUSTER: EksClusterArgs = {"cluster_name": "keyless", "kubernetes_version": "1.33", "region": "us-west-2"}


def test_cluster_uses_api_access_entries_and_exposes_its_own_issuer() -> None:
    def build() -> None:
        cluster = EksCluster("eks", CLUSTER)
        pulumi.export("issuer", cluster.issuer_url)
        pulumi.export("host", cluster.issuer_host)
        pulumi.export("kubeconfig", cluster.kubeconfig)

    run = run_component(build, {"aws:region": "us-west-2"})
    cluster = run.one("aws:eks/cluster:Cluster").plain_inputs
    assert cluster["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True}
    assert cluster["version"] == "1.33"
    assert cluster["vpcConfig"]["subnetIds"] == ["subnet-0e1a2b3c4d5e6f70a", "subnet-0e1a2b3c4d5e6f70b"]
    assert run.outputs["issuer"] == ISSUER
    assert run.outputs["host"] == HOST
    assert isinstance(run.outputs["kubeconfig"], Secret)
    kubeconfig = json.loads(run.outputs["kubeconfig"].value)
    assert kubeconfig["users"][0]["user"]["exec"]["args"] == [
        "eks",
        "get-token",
        "--cluster-name",
        "keyless",
        "--output",
        "json",
        "--region",
        "us-west-2",
    ]
    tokens = [call.token for call in run.invocations]
    assert "aws:ec2/getVpc:getVpc" in tokens and "aws:ec2/getSubnets:getSubnets" in tokens
    subnets_call = next(call for call in run.invocations if call.token == "aws:ec2/getSubnets:getSubnets")
    assert {"name": "default-for-az", "values": ["true"]} in subnets_call.args["filters"]
    node_group = run.one("aws:eks/nodeGroup:NodeGroup").plain_inputs
    assert node_group["scalingConfig"] == {"desiredSize": 2, "minSize": 1, "maxSize": 3}
    policies = sorted(
        a.plain_inputs["policyArn"] for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    )
    assert "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy" in policies
    assert "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy" in policies


def test_given_subnets_skip_the_default_vpc_lookup() -> None:
    run = run_component(
        lambda: EksCluster("eks", {**CLUSTER, "subnet_ids": ["subnet-0123456789abcdef0", "subnet-89abcdef"]})
    )
    assert run.one("aws:eks/cluster:Cluster").plain_inputs["vpcConfig"]["subnetIds"] == [
        "subnet-0123456789abcdef0",
        "subnet-89abcdef",
    ]
    assert not any(call.token.startswith("aws:ec2/") for call in run.invocations)


def test_kubeconfig_calls_aws_eks_get_token() -> None:
    config = json.loads(eks_kubeconfig("c", "https://example", "Q0E="))
    assert config["users"][0]["user"]["exec"]["command"] == "aws"
    assert "--region" not in config["users"][0]["user"]["exec"]["args"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"kubernetes_version": "v1.33"}, "kubernetes_version: 'v1.33' is not a Kubernetes minor version"),
        ({"desired_size": 5, "max_size": 3}, "desired_size: 5 is outside min_size..max_size (1..3)"),
        ({"cluster_name": "bad name"}, "cluster_name: 'bad name' is not an EKS cluster name"),
        ({"instance_types": []}, "instance_types: [] is not accepted"),
    ],
)
def test_bad_cluster_arguments_are_rejected(override: dict[str, object], message: str) -> None:
    run = run_program({}, program=lambda: EksCluster("eks", {**CLUSTER, **override}), raise_errors=False)  # type: ignore[typeddict-item]
    assert message in str(run.error)
    assert run.registrations == []


def test_policies_with_the_same_last_segment_get_distinct_children() -> None:
    """The real engine refuses two children with one URN; the test engine does too."""
    aws_managed = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    customer = "arn:aws:iam::123456789012:policy/ReadOnlyAccess"
    run = run_component(
        lambda: IrsaRole(
            "ci.runner",
            {
                "oidc_provider_arn": PROVIDER_ARN,
                "issuer_url": ISSUER,
                "service_accounts": [{"namespace": "ci", "name": "runner"}],
                "managed_policy_arns": [aws_managed, customer, "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"],
            },
        )
    )
    attachments = {
        r.plain_inputs["policyArn"]: r for r in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    }
    assert attachments[aws_managed].name == "ci.runner-readonlyaccess", "an AWS-managed policy keeps its 0.1.0 name"
    assert attachments[customer].name.startswith("ci.runner-readonlyaccess-")
    assert attachments[aws_managed].aliases == [] and attachments[customer].aliases == []
    renamed = attachments["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"]
    assert renamed.aliases == ["ci.runner-amazoneks-cni-policy"], "a renamed child moves instead of being replaced"


def test_cluster_enforces_network_policy_through_the_vpc_cni_add_on_before_nodes_join() -> None:
    run = run_component(lambda: EksCluster("eks", CLUSTER), {"aws:region": "us-west-2"})
    addon = run.one("aws:eks/addon:Addon")
    assert addon.plain_inputs["addonName"] == "vpc-cni"
    assert json.loads(addon.plain_inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}
    assert addon.plain_inputs["resolveConflictsOnCreate"] == "OVERWRITE"
    assert run.depends_on(run.one("aws:eks/nodeGroup:NodeGroup"), addon)


def test_network_policy_enforcement_can_be_left_to_the_cluster_default() -> None:
    run = run_component(lambda: EksCluster("eks", {**CLUSTER, "enforce_network_policy": False}))
    assert run.of_type("aws:eks/addon:Addon") == []
