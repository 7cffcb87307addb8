"""The whole program (``__main__.py``) under mocks, with committed and constructed stack configs."""

import json
from typing import Any

import pytest

from keyless.preview.engine import EXAMPLE_EKS_OIDC_ID, ProgramRun, Secret
from tests.conftest import load_stack_file, run_stack, stack_names

JOB = "kubernetes:batch/v1:Job"
ISSUER = "pulumiservice:index:OidcIssuer"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"


def _stack(name: str) -> ProgramRun:
    values, secret_keys = load_stack_file(name)
    return run_stack(values, secret_keys=tuple(secret_keys))


@pytest.mark.parametrize("stack", stack_names())
def test_every_committed_stack_runs_and_orders_the_login_after_the_issuer(stack: str) -> None:
    run = _stack(stack)
    urns = [r.urn for r in run.registrations]
    assert len(urns) == len(set(urns)), "the engine refuses two resources with one URN"
    job = run.one(JOB)
    issuer = run.one(ISSUER)
    assert run.depends_on(job, issuer), "the login Job must wait for the issuer and its policies"
    namespace = job.plain_inputs["metadata"]["namespace"]
    account_name = job.plain_inputs["spec"]["template"]["spec"]["serviceAccountName"]
    account = next(
        sa
        for sa in run.of_type(SERVICE_ACCOUNT)
        if sa.plain_inputs["metadata"] == {**sa.plain_inputs["metadata"], "name": account_name, "namespace": namespace}
    )
    assert run.depends_on(job, account), "the login Job must wait for its annotated service account"
    assert isinstance(run.outputs["kubeconfig"], Secret)
    assert run.outputs["issuerUrl"] == issuer.plain_inputs["url"]
    # every Kubernetes object goes to the stack's cluster, never to an ambient kubeconfig
    for registration in run.registrations:
        if registration.type.startswith("kubernetes:") and registration.custom:
            assert "cluster-k8s" in registration.provider, registration.name


def test_gke_stack_wires_workload_identity_end_to_end() -> None:
    run = _stack("dev")
    account = run.one(SERVICE_ACCOUNT).plain_inputs
    email = account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
    assert email == run.one("gcp:serviceaccount/account:Account").state["email"]
    binding = run.one("gcp:serviceaccount/iAMMember:IAMMember").plain_inputs
    assert binding["member"] == "serviceAccount:my-gcp-project.svc.id.goog[pulumi-runner/pulumi-runner]"
    issuer = run.one(ISSUER).plain_inputs
    assert (
        issuer["url"]
        == "https://container.googleapis.com/v1/projects/my-gcp-project/locations/us-central1/clusters/keyless-dev"
    )
    assert issuer["policies"][0]["rules"]["sub"] == "system:serviceaccount:pulumi-runner:pulumi-runner"
    projection = run.one(JOB).plain_inputs["spec"]["template"]["spec"]["volumes"][0]["projected"]["sources"][0]
    assert projection["serviceAccountToken"]["audience"] == "urn:pulumi:org:my-pulumi-org"


def test_eks_stack_wires_irsa_end_to_end() -> None:
    run = _stack("eks-dev")
    issuer_url = f"https://oidc.eks.us-west-2.amazonaws.com/id/{EXAMPLE_EKS_OIDC_ID}"
    provider = run.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.plain_inputs["url"] == issuer_url
    role = next(r for r in run.of_type("aws:iam/role:Role") if r.name == "pulumi-runner.pulumi-runner")
    trust = json.loads(role.plain_inputs["assumeRolePolicy"])
    statement = trust["Statement"][0]
    assert statement["Principal"]["Federated"] == provider.state["arn"]
    host = issuer_url.removeprefix("https://")
    assert statement["Condition"]["StringEquals"] == {
        f"{host}:aud": "sts.amazonaws.com",
        f"{host}:sub": "system:serviceaccount:pulumi-runner:pulumi-runner",
    }
    account = run.one(SERVICE_ACCOUNT).plain_inputs
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == role.state["arn"]
    assert run.one(ISSUER).plain_inputs["url"] == issuer_url
    pod = run.one(JOB).plain_inputs["spec"]["template"]["spec"]
    # The runner presents its own projected token for Pulumi Cloud, never the IRSA token for STS.
    audiences = [
        s["serviceAccountToken"]["audience"]
        for v in pod["volumes"]
        if "projected" in v
        for s in v["projected"]["sources"]
    ]
    assert audiences == ["urn:pulumi:org:my-pulumi-org"]
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert "eks.amazonaws.com" not in env["PULUMI_OIDC_TOKEN_FILE"]


WORKLOADS: list[dict[str, Any]] = [
    {"namespace": "agents", "serviceAccount": "pool", "tokenType": "runner", "runnerId": "r-1"},
    {"namespace": "agents", "serviceAccount": "operator", "tokenType": "organization", "roleId": "role-1"},
    {"namespace": "ci", "serviceAccount": "runner", "tokenType": "team", "teamName": "platform", "runner": True},
    {"namespace": "sandbox", "serviceAccount": "alice", "tokenType": "personal", "userLogin": "alice"},
]


def _multi(cloud_config: dict[str, Any], secret_keys: tuple[str, ...] = ()) -> ProgramRun:
    config = {"keyless:organization": "acme", "keyless:workloads": WORKLOADS, **cloud_config}
    return run_stack(config, secret_keys=secret_keys)


GKE = {
    "gcp:project": "acme-dev",
    "keyless:cloud": "gke",
    "keyless:gke": {"location": "us-central1", "clusterName": "shared"},
}
EKS = {
    "aws:region": "us-east-2",
    "keyless:cloud": "eks",
    "keyless:eks": {
        "clusterName": "shared",
        "kubernetesVersion": "1.33",
        "subnetIds": ["subnet-0123456789abcdef0", "subnet-89abcdef"],
    },
}
EXISTING_EKS = {
    "aws:region": "us-east-2",
    "keyless:cloud": "existing",
    "keyless:existing": {"identityCloud": "eks", "lookup": {"clusterName": "platform"}},
}
EXISTING_GKE = {
    "gcp:project": "acme-prod",
    "keyless:cloud": "existing",
    "keyless:existing": {"identityCloud": "gke", "lookup": {"clusterName": "platform", "location": "europe-west4"}},
}
EXISTING_ANY = {
    "keyless:cloud": "existing",
    "keyless:existing": {"identityCloud": "none", "issuerUrl": "https://oidc.example.com/clusters/kind"},
    "keyless:kubeconfig": "apiVersion: v1\nkind: Config\n",
}


@pytest.mark.parametrize(
    ("cloud_config", "secret_keys", "identity"),
    [
        (GKE, (), "gke"),
        (EKS, (), "eks"),
        (EXISTING_EKS, (), "eks"),
        (EXISTING_GKE, (), "gke"),
        (EXISTING_ANY, ("keyless:kubeconfig",), "none"),
    ],
    ids=["gke", "eks", "existing-eks", "existing-gke", "existing-no-cloud-identity"],
)
def test_several_workloads_share_a_cluster(
    cloud_config: dict[str, Any], secret_keys: tuple[str, ...], identity: str
) -> None:
    run = _multi(cloud_config, secret_keys)
    namespaces = sorted(n.plain_inputs["metadata"]["name"] for n in run.of_type("kubernetes:core/v1:Namespace"))
    assert namespaces == ["agents", "ci", "sandbox"]  # two workloads in one namespace: created once
    accounts = {
        (a.plain_inputs["metadata"]["namespace"], a.plain_inputs["metadata"]["name"]): a.plain_inputs["metadata"].get(
            "annotations", {}
        )
        for a in run.of_type(SERVICE_ACCOUNT)
    }
    assert set(accounts) == {("agents", "pool"), ("agents", "operator"), ("ci", "runner"), ("sandbox", "alice")}
    annotation = {"gke": "iam.gke.io/gcp-service-account", "eks": "eks.amazonaws.com/role-arn"}.get(identity)
    assert all((annotation in a) if annotation else a == {} for a in accounts.values())
    if identity == "eks":
        roles = [r for r in run.of_type("aws:iam/role:Role") if r.parent.endswith("IrsaRole::" + r.name)]
        subjects = sorted(
            json.loads(r.plain_inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"][
                next(
                    k
                    for k in json.loads(r.plain_inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
                    if k.endswith(":sub")
                )
            ]
            for r in roles
        )
        assert subjects == sorted(f"system:serviceaccount:{ns}:{sa}" for ns, sa in accounts)
    if identity == "gke":
        members = sorted(b.plain_inputs["member"] for b in run.of_type("gcp:serviceaccount/iAMMember:IAMMember"))
        assert len(members) == 4 and all(".svc.id.goog[" in m for m in members)
    policies = run.one(ISSUER).plain_inputs["policies"]
    assert [(p["tokenType"], p["rules"]["sub"]) for p in policies] == [
        ("runner", "system:serviceaccount:agents:pool"),
        ("organization", "system:serviceaccount:agents:operator"),
        ("team", "system:serviceaccount:ci:runner"),
        ("personal", "system:serviceaccount:sandbox:alice"),
    ]
    job = run.one(JOB).plain_inputs
    assert job["metadata"]["namespace"] == "ci"
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "runner"
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert env["PULUMI_OIDC_TEAM"] == "platform"


def test_no_login_job_when_no_workload_is_marked_for_it() -> None:
    workloads = [{**w, "runner": False} for w in WORKLOADS]
    run = run_stack({"keyless:organization": "acme", "keyless:workloads": workloads, **GKE})
    assert run.of_type(JOB) == []
    assert "loginJobName" not in run.outputs


def test_workloads_whose_dashed_names_coincide_get_distinct_resources() -> None:
    workloads = [
        {"namespace": "a-b", "serviceAccount": "c", "tokenType": "team", "teamName": "t"},
        {"namespace": "a", "serviceAccount": "b-c", "tokenType": "team", "teamName": "t"},
    ]
    run = run_stack({"keyless:organization": "acme", "keyless:workloads": workloads, **EKS})
    # The engine refuses two resources with one URN; the mock monitor does not, so check here.
    urns = [r.urn for r in run.registrations]
    assert len(urns) == len(set(urns))
    assert len(run.of_type(SERVICE_ACCOUNT)) == 2


def test_namespaces_owned_elsewhere_are_referred_to_not_created() -> None:
    run = _multi({**EXISTING_EKS, "keyless:createNamespaces": "false"})
    assert run.of_type("kubernetes:core/v1:Namespace") == []
    namespaces = sorted({a.plain_inputs["metadata"]["namespace"] for a in run.of_type(SERVICE_ACCOUNT)})
    assert namespaces == ["agents", "ci", "sandbox"]
    assert run.one(JOB).plain_inputs["metadata"]["namespace"] == "ci"


def test_existing_cluster_kubeconfig_stays_secret() -> None:
    run = _multi(EXISTING_ANY, ("keyless:kubeconfig",))
    provider = run.one("pulumi:providers:kubernetes")
    assert isinstance(provider.inputs["kubeconfig"], Secret)
    assert run.one(ISSUER).plain_inputs["url"] == "https://oidc.example.com/clusters/kind"


def test_existing_eks_cluster_reuses_a_given_oidc_provider() -> None:
    run = _stack("existing-dev")
    assert run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    assert any(call.token == "aws:eks/getCluster:getCluster" for call in run.invocations)


def test_the_test_engine_refuses_two_resources_with_one_urn() -> None:
    """What the real engine refuses, the mock engine must refuse too, naming both registrations."""
    import pulumi_kubernetes as k8s

    from keyless.preview.engine import DuplicateUrnError, run_program

    def program() -> None:
        k8s.core.v1.Namespace("ci", metadata={"name": "ci"})
        k8s.core.v1.Namespace("ci", metadata={"name": "ci-2"})

    run = run_program({}, program=program, raise_errors=False)
    assert isinstance(run.error, DuplicateUrnError)
    assert "duplicate URN urn:pulumi:dev::keyless::kubernetes:core/v1:Namespace::ci" in str(run.error)
    assert str(run.error).count("named 'ci'") == 2


def test_an_aks_issuer_is_registered_exactly_as_given_trailing_slash_included() -> None:
    aks = "https://westeurope.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/11111111-2222-3333-4444-555555555555/"
    config = {
        "keyless:cloud": "existing",
        "keyless:organization": "acme",
        "keyless:existing": json.dumps({"identityCloud": "none", "issuerUrl": aks}),
        "keyless:kubeconfig": "apiVersion: v1",
        "keyless:workloads": json.dumps(
            [
                {
                    "namespace": "ci",
                    "serviceAccount": "runner",
                    "tokenType": "team",
                    "teamName": "t",
                    "runsLoginJob": True,
                }
            ]
        ),
    }
    run = run_stack(config, secret_keys=("keyless:kubeconfig",))
    assert run.one(ISSUER).plain_inputs["url"] == aks
    assert run.outputs["issuerUrl"] == aks
