import json

import pytest

from keyless.components.gcp_workload_identity import GcpWorkloadIdentity
from keyless.components.gke_cluster import GkeCluster, GkeClusterArgs
from keyless.core.gcp import gke_issuer_url, gke_kubeconfig, gsa_account_id, workload_identity_member
from keyless.core.problems import InvalidArgumentError
from keyless.preview.engine import Secret, run_program
from tests.conftest import run_component

ARGS: GkeClusterArgs = {"project": "acme-dev", "location": "europe-west1-b", "cluster_name": "keyless"}


@pytest.mark.parametrize("location", ["europe-west1", "europe-west1-b"])
def test_issuer_url_says_locations_for_regional_and_zonal_clusters(location: str) -> None:
    url = gke_issuer_url("acme-dev", location, "keyless")
    assert url == f"https://container.googleapis.com/v1/projects/acme-dev/locations/{location}/clusters/keyless"
    assert not url.endswith("/") and "/zones/" not in url


def test_kubeconfig_uses_the_auth_plugin_and_embeds_no_credential() -> None:
    config = json.loads(gke_kubeconfig("ctx", "203.0.113.10", "Q0E="))
    user = config["users"][0]["user"]
    assert user["exec"]["command"] == "gke-gcloud-auth-plugin"
    assert set(user) == {"exec"}
    assert config["clusters"][0]["cluster"]["server"] == "https://203.0.113.10"


def test_cluster_enables_workload_identity_on_a_dedicated_node_pool() -> None:
    def build() -> None:
        cluster = GkeCluster("gke", {**ARGS, "node_count": 2, "deletion_protection": False})
        __import__("pulumi").export("issuer", cluster.issuer_url)
        __import__("pulumi").export("pool", cluster.workload_pool)
        __import__("pulumi").export("kubeconfig", cluster.kubeconfig)

    run = run_component(build)
    cluster = run.one("gcp:container/cluster:Cluster").plain_inputs
    assert cluster["workloadIdentityConfig"] == {"workloadPool": "acme-dev.svc.id.goog"}
    assert cluster["removeDefaultNodePool"] is True
    assert cluster["deletionProtection"] is False
    assert cluster["releaseChannel"] == {"channel": "REGULAR"}
    pool = run.one("gcp:container/nodePool:NodePool").plain_inputs
    assert pool["nodeConfig"]["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert pool["nodeCount"] == 2
    assert run.outputs["issuer"] == gke_issuer_url("acme-dev", "europe-west1-b", "keyless")
    assert run.outputs["pool"] == "acme-dev.svc.id.goog"
    assert isinstance(run.outputs["kubeconfig"], Secret)
    provider = run.one("pulumi:providers:kubernetes")
    assert isinstance(provider.inputs["kubeconfig"], Secret)


def test_deletion_protection_defaults_on() -> None:
    run = run_component(lambda: GkeCluster("gke", ARGS))
    assert run.one("gcp:container/cluster:Cluster").plain_inputs["deletionProtection"] is True


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"cluster_name": "Keyless"}, "cluster_name: 'Keyless' is not a GKE cluster name"),
        ({"release_channel": "NIGHTLY"}, "release_channel: 'NIGHTLY' is not accepted; expected one of: RAPID, REGULAR"),
        ({"node_count": 0}, "node_count: 0 is out of range"),
        ({"deletion_protection": "no"}, "deletion_protection: 'no' is not accepted; expected true or false"),
    ],
)
def test_bad_cluster_arguments_are_rejected_before_registration(override: dict[str, object], message: str) -> None:
    run = run_program({}, program=lambda: GkeCluster("gke", {**ARGS, **override}), raise_errors=False)  # type: ignore[typeddict-item]
    assert message in str(run.error)
    assert run.registrations == []


@pytest.mark.parametrize(
    ("namespace", "name"),
    [("ci", "runner"), ("a", "b"), ("9-lives", "x"), ("a-very-long-namespace-name", "and-a-long-service-account")],
)
def test_gsa_account_id_is_always_valid_and_stable(namespace: str, name: str) -> None:
    account_id = gsa_account_id(namespace, name)
    assert 6 <= len(account_id) <= 30
    assert account_id[0].isalpha() and account_id[-1].isalnum()
    assert account_id == gsa_account_id(namespace, name)


def test_workloads_whose_dashed_names_coincide_get_distinct_ids() -> None:
    assert gsa_account_id("a-b", "c") != gsa_account_id("a", "b-c")


def test_long_names_that_share_a_prefix_get_distinct_ids() -> None:
    assert gsa_account_id("platform-team-one", "deployment-agent-a") != gsa_account_id(
        "platform-team-one", "deployment-agent-b"
    )


def test_workload_identity_binds_exactly_one_kubernetes_service_account() -> None:
    run = run_component(
        lambda: GcpWorkloadIdentity(
            "wi",
            {
                "project": "acme-dev",
                "workload_pool": "acme-dev.svc.id.goog",
                "namespace": "ci",
                "service_account": "runner",
                "project_roles": ["roles/storage.objectViewer"],
            },
        )
    )
    account = run.one("gcp:serviceaccount/account:Account")
    binding = run.one("gcp:serviceaccount/iAMMember:IAMMember").plain_inputs
    assert binding["role"] == "roles/iam.workloadIdentityUser"
    assert binding["member"] == workload_identity_member("acme-dev.svc.id.goog", "ci", "runner")
    assert binding["member"] == "serviceAccount:acme-dev.svc.id.goog[ci/runner]"
    assert binding["serviceAccountId"] == account.state["name"]
    grant = run.one("gcp:projects/iAMMember:IAMMember").plain_inputs
    assert grant["role"] == "roles/storage.objectViewer"
    assert grant["member"] == f"serviceAccount:{account.state['email']}"


def test_binding_waits_for_the_cluster_that_creates_the_pool() -> None:
    def build() -> None:
        cluster = GkeCluster("gke", ARGS)
        GcpWorkloadIdentity(
            "wi",
            {"project": "acme-dev", "workload_pool": cluster.workload_pool, "namespace": "ci", "service_account": "r"},
        )

    run = run_component(build)
    binding = run.one("gcp:serviceaccount/iAMMember:IAMMember")
    assert run.depends_on(binding, run.one("gcp:container/cluster:Cluster"))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"project_roles": ["storage.admin"]}, "project_roles[0]: 'storage.admin' is not an IAM role"),
        ({"account_id": "x"}, "account_id: 'x' is not a service account id"),
        ({"namespace": "Bad_NS"}, "namespace: 'Bad_NS' is not a valid Kubernetes name"),
    ],
)
def test_bad_identity_arguments_are_rejected(override: dict[str, object], message: str) -> None:
    args = {"project": "p", "workload_pool": "p.svc.id.goog", "namespace": "ci", "service_account": "r", **override}
    with pytest.raises(InvalidArgumentError) as error:
        run_program({}, program=lambda: GcpWorkloadIdentity("wi", args))  # type: ignore[arg-type]
    assert message in str(error.value)


def test_roles_with_the_same_last_segment_get_distinct_children() -> None:
    roles = ["roles/viewer", "projects/acme-dev/roles/viewer", "organizations/123/roles/viewer"]
    run = run_component(
        lambda: GcpWorkloadIdentity(
            "ci.runner",
            {
                "project": "acme-dev",
                "workload_pool": "acme-dev.svc.id.goog",
                "namespace": "ci",
                "service_account": "runner",
                "project_roles": roles,
            },
        )
    )
    members = {r.plain_inputs["role"]: r.name for r in run.of_type("gcp:projects/iAMMember:IAMMember")}
    assert set(members) == set(roles)
    assert members["roles/viewer"] == "ci.runner-viewer"
    assert len(set(members.values())) == 3


def test_cluster_enforces_network_policy_with_dataplane_v2_unless_told_not_to() -> None:
    enforced = run_component(lambda: GkeCluster("gke", ARGS)).one("gcp:container/cluster:Cluster").plain_inputs
    assert enforced["datapathProvider"] == "ADVANCED_DATAPATH"
    legacy = run_component(lambda: GkeCluster("gke", {**ARGS, "enforce_network_policy": False}))
    assert "datapathProvider" not in legacy.one("gcp:container/cluster:Cluster").plain_inputs
