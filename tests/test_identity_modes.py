"""Each cloud's identity modes, selectable per workload: IRSA or EKS Pod Identity, a Google service
account or the Kubernetes service account's own principal."""

import json
from typing import Any

import pytest

from keyless.components.eks_pod_identity import EksPodIdentity
from keyless.components.gke_workload_principal import GkeWorkloadPrincipal
from keyless.config import ConfigError, load_stack_config
from keyless.core.aws import pod_identity_trust_policy
from keyless.core.gcp import direct_principal
from keyless.preview.engine import EXAMPLE_PROJECT_NUMBER, ProgramRun, run_program
from tests.conftest import ROOT, load_stack_file, run_component

CLUSTER_ARN = "arn:aws:eks:us-east-2:123456789012:cluster/keyless"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"


def _stack(name: str, **changes: Any) -> ProgramRun:
    values, secrets = load_stack_file(name)
    values.update({key: json.dumps(value) for key, value in changes.items()})
    return run_program(values, stack=name, secret_keys=secrets, program=ROOT / "__main__.py")


def test_pod_identity_trust_admits_the_pods_service_with_both_actions_scoped_by_session_tags() -> None:
    statement = pod_identity_trust_policy(CLUSTER_ARN, "ci", "runner")["Statement"][0]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert statement["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert statement["Condition"] == {
        "StringEquals": {
            "aws:RequestTag/eks-cluster-arn": CLUSTER_ARN,
            "aws:RequestTag/kubernetes-namespace": "ci",
            "aws:RequestTag/kubernetes-service-account": "runner",
        }
    }
    untagged = pod_identity_trust_policy(CLUSTER_ARN, "ci", "runner", session_tags=False)["Statement"][0]
    assert "Condition" not in untagged, "without session tags the RequestTag conditions could never match"


def test_the_association_binds_the_role_to_exactly_one_service_account() -> None:
    run = run_component(
        lambda: EksPodIdentity(
            "ci.runner",
            {
                "cluster_name": "keyless",
                "cluster_arn": CLUSTER_ARN,
                "namespace": "ci",
                "service_account": "runner",
                "managed_policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            },
        )
    )
    association = run.one("aws:eks/podIdentityAssociation:PodIdentityAssociation").plain_inputs
    role = run.one("aws:iam/role:Role")
    assert association == {
        "clusterName": "keyless",
        "namespace": "ci",
        "serviceAccount": "runner",
        "roleArn": role.state["arn"],
    }
    trust = json.loads(role.plain_inputs["assumeRolePolicy"])
    assert trust == pod_identity_trust_policy(CLUSTER_ARN, "ci", "runner")
    assert (
        run.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        .plain_inputs["policyArn"]
        .endswith("ReadOnlyAccess")
    )


def test_a_bad_cluster_arn_is_refused_before_anything_is_registered() -> None:
    args: Any = {"cluster_name": "keyless", "cluster_arn": "keyless", "namespace": "ci", "service_account": "r"}
    run = run_program({}, program=lambda: EksPodIdentity("x", args), raise_errors=False)
    assert "cluster_arn: 'keyless' is not an EKS cluster ARN" in str(run.error)
    assert run.registrations == []


def test_the_direct_principal_names_the_project_number_pool_namespace_and_account() -> None:
    assert direct_principal("123456789012", "acme.svc.id.goog", "ci", "runner") == (
        "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/"
        "acme.svc.id.goog/subject/ns/ci/sa/runner"
    )


def test_direct_grants_go_to_the_principal_with_no_google_service_account() -> None:
    run = run_component(
        lambda: GkeWorkloadPrincipal(
            "ci.runner",
            {
                "project": "acme-dev",
                "project_number": "123456789012",
                "workload_pool": "acme-dev.svc.id.goog",
                "namespace": "ci",
                "service_account": "runner",
                "project_roles": ["roles/storage.objectViewer"],
            },
        )
    )
    member = run.one("gcp:projects/iAMMember:IAMMember").plain_inputs
    assert member["member"] == direct_principal("123456789012", "acme-dev.svc.id.goog", "ci", "runner")
    assert run.of_type("gcp:serviceaccount/account:Account") == []


def test_an_eks_stack_mixes_pod_identity_and_irsa() -> None:
    run = _stack("eks-mixed")
    addons = {r.plain_inputs["addonName"] for r in run.of_type("aws:eks/addon:Addon")}
    assert addons == {"vpc-cni", "eks-pod-identity-agent"}
    association = run.one("aws:eks/podIdentityAssociation:PodIdentityAssociation").plain_inputs
    assert (association["namespace"], association["serviceAccount"]) == ("ci", "ci-runner")
    accounts = {r.plain_inputs["metadata"]["name"]: r.plain_inputs["metadata"] for r in run.of_type(SERVICE_ACCOUNT)}
    assert "annotations" not in accounts["ci-runner"], "Pod Identity needs no annotation"
    assert "eks.amazonaws.com/role-arn" in accounts["reporter"]["annotations"]
    assert run.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider"), "the IRSA workload needs the provider"
    assert (
        run.one("kubernetes:batch/v1:Job").plain_inputs["spec"]["template"]["spec"]["serviceAccountName"] == "ci-runner"
    )


def test_an_eks_stack_of_pod_identity_only_creates_no_oidc_provider() -> None:
    values, _ = load_stack_file("eks-mixed")
    workloads = json.loads(values["keyless:workloads"])[:1]
    run = _stack("eks-mixed", **{"keyless:workloads": workloads})
    assert run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    assert run.one("pulumiservice:index:OidcIssuer"), "Pulumi Cloud still trusts the cluster's issuer"


def test_a_gke_stack_grants_direct_principals_and_looks_the_project_number_up_once() -> None:
    run = _stack("gke-direct")
    members = {r.plain_inputs["member"] for r in run.of_type("gcp:projects/iAMMember:IAMMember")}
    assert members == {direct_principal(EXAMPLE_PROJECT_NUMBER, "my-gcp-project.svc.id.goog", "reporting", "reporter")}
    assert run.of_type("gcp:serviceaccount/account:Account") == []
    assert "annotations" not in run.one(SERVICE_ACCOUNT).plain_inputs["metadata"]
    lookups = [call for call in run.invocations if call.token == "gcp:organizations/getProject:getProject"]
    assert [call.args["projectId"] for call in lookups] == ["my-gcp-project"]


@pytest.mark.parametrize(
    ("stack", "workload", "message"),
    [
        (
            "eks-dev",
            {"identityMode": "direct"},
            "identityMode: 'direct' is not a mode of identity cloud 'eks'; expected one of: irsa, podIdentity",
        ),
        (
            "dev",
            {"identityMode": "podIdentity"},
            "is not a mode of identity cloud 'gke'; expected one of: gcpServiceAccount, direct",
        ),
        (
            "eks-dev",
            {"podIdentitySessionTags": False},
            "podIdentitySessionTags: applies to identityMode podIdentity only; this workload's is 'irsa'",
        ),
        (
            "dev",
            {"identityMode": "direct", "awsPermissionsBoundary": "arn:aws:iam::aws:policy/PowerUserAccess"},
            "awsPermissionsBoundary: applies to identityMode irsa, podIdentity only; this workload's is 'direct'",
        ),
        ("existing-dev", {"identityMode": "podIdentity"}, None),
    ],
)
def test_a_mode_or_field_where_it_does_not_apply_is_explained(
    stack: str, workload: dict[str, Any], message: str | None
) -> None:
    values, secrets = load_stack_file(stack)
    workloads = json.loads(values["keyless:workloads"])
    workloads[-1] = {**workloads[-1], **workload}
    values["keyless:workloads"] = json.dumps(workloads)
    if message is None:  # pod identity on an existing cluster needs the lookup, which existing-dev has
        assert load_stack_config(values, stack=stack, secret_keys=secrets).workloads[-1].identity_mode == "podIdentity"
        return
    with pytest.raises(ConfigError) as error:
        load_stack_config(values, stack=stack, secret_keys=secrets)
    assert message in str(error.value)


def test_pod_identity_on_an_existing_cluster_without_a_lookup_is_refused() -> None:
    values = {
        "aws:region": "eu-west-1",
        "keyless:cloud": "existing",
        "keyless:organization": "acme",
        "keyless:existing": json.dumps({"identityCloud": "eks", "issuerUrl": "https://oidc.example.com"}),
        "keyless:kubeconfig": "apiVersion: v1",
        "keyless:workloads": json.dumps(
            [
                {
                    "namespace": "ci",
                    "serviceAccount": "r",
                    "tokenType": "team",
                    "teamName": "t",
                    "identityMode": "podIdentity",
                }
            ]
        ),
    }
    with pytest.raises(ConfigError) as error:
        load_stack_config(values, secret_keys=["keyless:kubeconfig"])
    assert (
        "keyless:workloads[0].identityMode: 'podIdentity' needs the cluster's ARN and the cluster's name, which only "
        "a lookup gives; expected keyless:existing.lookup.clusterName, or identityMode irsa"
    ) in str(error.value)


def test_pod_identity_on_a_looked_up_cluster_uses_its_name_and_arn() -> None:
    values, _ = load_stack_file("existing-dev")
    workloads = json.loads(values["keyless:workloads"])
    workloads[0]["identityMode"] = "podIdentity"
    run = _stack("existing-dev", **{"keyless:workloads": workloads})
    association = run.one("aws:eks/podIdentityAssociation:PodIdentityAssociation").plain_inputs
    assert association["clusterName"] == "platform-prod"
    trust = json.loads(run.one("aws:iam/role:Role", "pulumi-agents.deployment-agent").plain_inputs["assumeRolePolicy"])
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    assert condition["aws:RequestTag/eks-cluster-arn"] == "arn:aws:eks:eu-west-1:123456789012:cluster/platform-prod"


def test_one_config_key_turns_the_canary_on_with_commands_to_read_it() -> None:
    run = _stack("eks-mixed")
    assert run.one("kubernetes:batch/v1:CronJob").plain_inputs["spec"]["schedule"] == "0 * * * *"
    selector = "app.kubernetes.io/instance=oidc-login,app.kubernetes.io/component=login-canary"
    assert run.outputs["canaryRuns"] == f"kubectl get jobs -n ci -l {selector} --sort-by=.status.startTime"
    assert "kubectl logs -n ci" in run.outputs["canaryLastLog"]
    assert "canaryRuns" not in _stack("eks-dev").outputs


def test_cloud_identity_names_what_each_workload_acts_as_in_its_cloud() -> None:
    mixed = _stack("eks-mixed").outputs["workloads"]
    by_account = {w["serviceAccount"]: w["cloudIdentity"] for w in mixed}
    assert by_account["ci-runner"].startswith("arn:aws:iam::123456789012:role/"), "Pod Identity: the role"
    assert by_account["reporter"].startswith("arn:aws:iam::123456789012:role/"), "IRSA: the role"
    (direct,) = _stack("gke-direct").outputs["workloads"]
    assert direct["cloudIdentity"] == direct_principal(
        EXAMPLE_PROJECT_NUMBER, "my-gcp-project.svc.id.goog", "reporting", "reporter"
    ), "a direct principal: the principal itself"


def test_pod_identity_without_session_tags_passes_the_mandatory_guardrails() -> None:
    from keyless.policies.offline import MANDATORY, violations

    values, _ = load_stack_file("eks-mixed")
    workloads = json.loads(values["keyless:workloads"])
    workloads[0]["podIdentitySessionTags"] = False
    found = violations(_stack("eks-mixed", **{"keyless:workloads": workloads}))
    assert [v for v in found if v.level == MANDATORY] == []
    assert [v.policy for v in found] == ["pod-identity-trust-scoped"], "advisory: the association scopes it"
