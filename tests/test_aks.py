"""AKS end to end: the cluster with its issuer and Workload ID, identities shared between
workloads with their federated credentials written one after another, the annotations and pod
labels the webhook needs, the issuer registered in Pulumi Cloud byte for byte, existing AKS
clusters, and the mistakes Azure would only report at `pulumi up` refused before any resource.
The wire names (``oidcIssuerProfile.issuerURL``, ``resourceName``) are the installed
``pulumi-azure-native`` SDK's own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from keyless.cli import main
from keyless.components.azure_workload_identity import AzureWorkloadIdentity
from keyless.config import ConfigError, load_stack_config
from keyless.core.azure import azurecli_login, broad_grant, dns_prefix, role_definition_id
from keyless.core.problems import InvalidArgumentError
from keyless.policies.offline import violations
from keyless.preview.engine import EXAMPLE_AKS_OIDC_ID, EXAMPLE_TENANT
from keyless.record import ProgramRun, Secret, reveal
from tests.conftest import load_stack_file, run_component, run_stack
from tests.oidc_issuer import token_file

CLUSTER = "azure-native:containerservice:ManagedCluster"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ISSUER = "pulumiservice:index:OidcIssuer"
SUBSCRIPTION = "/subscriptions/00000000-0000-4000-8000-000000000000"
AKS_ISSUER = f"https://westeurope.oic.prod-aks.azure.com/{EXAMPLE_TENANT}/{EXAMPLE_AKS_OIDC_ID}/"


@pytest.fixture(scope="module")
def aks_dev() -> ProgramRun:
    values, secrets = load_stack_file("aks-dev")
    return run_stack(values, secret_keys=tuple(secrets))


def _values(**changes: Any) -> dict[str, str]:
    values, _ = load_stack_file("aks-dev")
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value if isinstance(value, str) else json.dumps(value)
    return values


def _workloads(*extra: dict[str, Any], **first: Any) -> list[dict[str, Any]]:
    values, _ = load_stack_file("aks-dev")
    workloads = json.loads(values["keyless:workloads"])
    workloads[0].update(first)
    return [*workloads, *extra]


def test_the_cluster_has_its_issuer_workload_identity_and_entra_only_logins(aks_dev: ProgramRun) -> None:
    cluster = aks_dev.one(CLUSTER).plain_inputs
    assert cluster["oidcIssuerProfile"] == {"enabled": True}
    assert cluster["securityProfile"] == {"workloadIdentity": {"enabled": True}}
    assert cluster["enableRBAC"] is True and cluster["disableLocalAccounts"] is True
    assert cluster["aadProfile"] == {
        "managed": True,
        "enableAzureRBAC": False,
        "adminGroupObjectIDs": ["5c6e8d4a-2b1f-4e3a-9d7c-1a2b3c4d5e6f"],
    }
    assert cluster["networkProfile"]["networkPolicy"] == "cilium"
    (pool,) = cluster["agentPoolProfiles"]
    assert (pool["mode"], pool["count"], pool["vmSize"]) == ("System", 2, "Standard_D2s_v5")
    assert cluster["resourceGroupName"] == "keyless-dev-rg", "a group created for it"
    assert aks_dev.one("azure-native:resources:ResourceGroup").plain_inputs["location"] == "westeurope"


def test_the_issuer_is_registered_in_pulumi_cloud_byte_for_byte(aks_dev: ProgramRun) -> None:
    reported = aks_dev.one(CLUSTER).state["oidcIssuerProfile"]["issuerURL"]
    assert reported == AKS_ISSUER and reported.endswith("/")
    assert aks_dev.one(ISSUER).plain_inputs["url"] == reported
    assert aks_dev.outputs["issuerUrl"] == reported
    assert {c.plain_inputs["issuer"] for c in aks_dev.of_type(CREDENTIAL)} == {reported}


def test_two_workloads_share_one_identity_with_chained_credentials(aks_dev: ProgramRun) -> None:
    (identity,) = aks_dev.of_type(IDENTITY)
    assert identity.plain_inputs["resourceName"] == "orders"
    assert identity.plain_inputs["resourceGroupName"] == "keyless-dev-rg"
    first, second = aks_dev.of_type(CREDENTIAL)
    assert [c.plain_inputs["subject"] for c in (first, second)] == [
        "system:serviceaccount:orders-eu:orders",
        "system:serviceaccount:orders-us:orders",
    ]
    assert all(c.plain_inputs["audiences"] == ["api://AzureADTokenExchange"] for c in (first, second))
    assert aks_dev.depends_on(second, first), "Entra refuses concurrent credential writes under one identity"
    assert not aks_dev.depends_on(first, second)
    client_id = identity.state["clientId"]
    for account in aks_dev.of_type("kubernetes:core/v1:ServiceAccount"):
        annotations = account.plain_inputs["metadata"]["annotations"]
        assert annotations == {
            "azure.workload.identity/client-id": client_id,
            "azure.workload.identity/tenant-id": EXAMPLE_TENANT,
        }
        assert (
            "labels" not in account.plain_inputs["metadata"]
            or "azure.workload.identity/use" not in (account.plain_inputs["metadata"]["labels"])
        ), "the webhook reads the pod's label, not the account's"


def test_the_role_is_assigned_once_to_the_shared_identity(aks_dev: ProgramRun) -> None:
    (assignment,) = aks_dev.of_type(ASSIGNMENT)
    inputs = assignment.plain_inputs
    assert inputs["principalType"] == "ServicePrincipal"
    assert inputs["scope"] == f"{SUBSCRIPTION}/resourceGroups/orders-data"
    assert inputs["roleDefinitionId"] == (
        f"{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
    )
    assert inputs["principalId"] == aks_dev.one(IDENTITY).state["principalId"]


def test_the_login_pods_carry_the_webhook_label(aks_dev: ProgramRun) -> None:
    job = aks_dev.one("kubernetes:batch/v1:Job").plain_inputs
    assert job["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == "orders"
    assert [v for v in violations(aks_dev) if v.level == "mandatory"] == []


def test_the_canary_pods_carry_it_too() -> None:
    run = run_stack(_values(**{"keyless:loginJob": {"canarySchedule": "*/30 * * * *"}}))
    canary = run.one("kubernetes:batch/v1:CronJob").plain_inputs
    labels = canary["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert labels["azure.workload.identity/use"] == "true"


def test_the_kubeconfig_is_the_users_exec_credentials_as_a_secret(aks_dev: ProgramRun) -> None:
    (call,) = [i for i in aks_dev.invocations if i.token.endswith("listManagedClusterUserCredentials")]
    assert call.args["format"] == "exec" and call.args["resourceName"] == "keyless-dev"
    kubeconfig = aks_dev.outputs["kubeconfig"]
    assert isinstance(kubeconfig, Secret)
    (user,) = yaml.safe_load(reveal(kubeconfig))["users"]
    execution = user["user"]["exec"]
    # AKS writes a device-code login, which would wait for a human during `pulumi up`.
    assert execution["command"] == "kubelogin"
    assert execution["args"][-2:] == ["--login", "azurecli"] and "devicecode" not in execution["args"]
    assert "--server-id" in execution["args"]


def test_an_existing_aks_cluster_is_looked_up_for_its_issuer_and_region() -> None:
    existing = {"identityCloud": "aks", "lookup": {"clusterName": "shared", "resourceGroupName": "platform-rg"}}
    run = run_stack(_values(**{"keyless:cloud": "existing", "keyless:aks": None, "keyless:existing": existing}))
    (call,) = [i for i in run.invocations if i.token.endswith("getManagedCluster")]
    assert call.args == {"resourceGroupName": "platform-rg", "resourceName": "shared"}
    assert run.one(ISSUER).plain_inputs["url"] == AKS_ISSUER
    identity = run.one(IDENTITY).plain_inputs
    assert (identity["resourceGroupName"], identity["location"]) == ("platform-rg", "westeurope")
    assert not run.of_type(CLUSTER)


def test_an_existing_aks_cluster_may_be_named_by_its_issuer() -> None:
    older = "https://oidc.prod-aks.azure.com/5e7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c/"
    existing = {"identityCloud": "aks", "issuerUrl": older, "identityResourceGroup": "identities"}
    values = _values(
        **{
            "keyless:cloud": "existing",
            "keyless:aks": None,
            "keyless:existing": existing,
            "keyless:kubeconfig": "apiVersion: v1",
        }
    )
    run = run_stack(values, secret_keys=("keyless:kubeconfig",))
    assert run.one(ISSUER).plain_inputs["url"] == older
    assert {c.plain_inputs["issuer"] for c in run.of_type(CREDENTIAL)} == {older}
    identity = run.one(IDENTITY).plain_inputs
    assert (identity["resourceGroupName"], identity["location"]) == ("identities", "westeurope")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {
                "keyless:workloads": _workloads(
                    *[
                        {
                            "namespace": f"team-{i}",
                            "serviceAccount": "orders",
                            "tokenType": "team",
                            "teamName": "orders",
                            "azureIdentity": "orders",
                        }
                        for i in range(19)
                    ]
                )
            },
            "keyless:workloads[20].azureIdentity: 'orders' would hold 21 federated credentials; Entra allows at "
            "most 20 on one identity",
        ),
        (
            {"keyless:workloads": _workloads(azureRoles=[{"role": "Reader", "scope": "subscriptions/x"}])},
            "keyless:workloads[0].azureRoles[0].scope: 'subscriptions/x' is not an ARM id of a role scope",
        ),
        (
            {"keyless:workloads": _workloads(azureRoles=[{"role": "Superuser", "scope": SUBSCRIPTION}])},
            "keyless:workloads[0].azureRoles[0].role: 'Superuser' is not a role definition",
        ),
        (
            {"keyless:workloads": _workloads(azureIdentity="orders.eu")},
            "keyless:workloads[0].azureIdentity: 'orders.eu' is not a user-assigned identity name Azure accepts",
        ),
        (
            {"keyless:workloads": _workloads(identityMode="irsa")},
            "keyless:workloads[0].identityMode: 'irsa' is not a mode of identity cloud 'aks'",
        ),
        (
            {"keyless:workloads": _workloads(gcpRoles=["roles/viewer"])},
            "keyless:workloads[0].gcpRoles: applies to identityMode direct, gcpServiceAccount only; this "
            "workload's is 'azureWorkloadIdentity'",
        ),
        (
            {
                "keyless:cloud": "existing",
                "keyless:aks": None,
                "keyless:kubeconfig": "apiVersion: v1",
                "keyless:existing": {
                    "identityCloud": "aks",
                    "issuerUrl": f"https://westeurope.oic.prod-aks.azure.com/{EXAMPLE_TENANT}/{EXAMPLE_AKS_OIDC_ID}",
                    "identityResourceGroup": "identities",
                },
            },
            "keyless:existing.issuerUrl: 'https://westeurope.oic.prod-aks.azure.com/"
            f"{EXAMPLE_TENANT}/{EXAMPLE_AKS_OIDC_ID}' has no trailing '/'; AKS tokens' iss ends with one",
        ),
        (
            {
                "keyless:cloud": "existing",
                "keyless:aks": None,
                "keyless:kubeconfig": "apiVersion: v1",
                "keyless:existing": {"identityCloud": "aks", "issuerUrl": "http://oidc.example/"},
            },
            "keyless:existing.issuerUrl: 'http://oidc.example/' is not an OIDC issuer URL",
        ),
        (
            {
                "keyless:cloud": "existing",
                "keyless:aks": None,
                "keyless:existing": {"identityCloud": "aks", "lookup": {"clusterName": "shared"}},
            },
            "keyless:existing.lookup.resourceGroupName: missing; an AKS lookup needs the cluster's group",
        ),
        ({"azure-native:location": None}, "keyless:aks.location: missing; set it, or azure-native:location"),
        ({"keyless:aks": {"clusterName": "keyless-dev"}}, "keyless:aks.adminGroupObjectIds: missing; with"),
        ({"keyless:aks": {"clusterName": "-bad-", "disableLocalAccounts": False}}, "keyless:aks.clusterName: '-bad-'"),
    ],
)
def test_what_azure_would_refuse_is_refused_before_any_resource(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_stack_config(_values(**changes), stack="aks-dev")
    assert message in str(error.value)


def test_a_runner_worker_cannot_take_a_mode_whose_pods_need_a_label() -> None:
    runner = {"namespace": "runners", "name": "deploy", "poolId": "p-1"}
    with pytest.raises(ConfigError) as error:
        load_stack_config(_values(**{"keyless:workflowRunners": [runner]}), stack="aks-dev")
    assert "keyless:workflowRunners[0].identityMode: 'azureWorkloadIdentity' needs the label" in str(error.value)


def test_the_component_holds_an_identity_to_entras_limit() -> None:
    accounts = [{"namespace": f"ns-{i}", "name": "app"} for i in range(21)]
    args: Any = {
        "resource_group_name": "rg",
        "location": "westeurope",
        "identity_name": "app",
        "issuer_url": AKS_ISSUER,
        "service_accounts": accounts,
    }
    with pytest.raises(InvalidArgumentError, match="Entra holds at most 20 federated credentials"):
        run_component(lambda: AzureWorkloadIdentity("app", args))


def test_the_guardrail_flags_a_broad_role_on_a_whole_subscription() -> None:
    contributor = role_definition_id("Contributor", SUBSCRIPTION)
    assert broad_grant(contributor, SUBSCRIPTION) == f"Contributor on the whole subscription {SUBSCRIPTION[15:]}"
    assert broad_grant(contributor, f"{SUBSCRIPTION}/resourceGroups/app") is None
    assert broad_grant(role_definition_id("Reader", SUBSCRIPTION), SUBSCRIPTION) is None
    run = run_stack(_values(**{"keyless:workloads": _workloads(azureRoles=[{"role": "Owner", "scope": SUBSCRIPTION}])}))
    found = [v for v in violations(run) if v.policy == "azure-role-not-subscription-wide"]
    assert [v.level for v in found] == ["mandatory"]
    assert "Owner on the whole subscription" in found[0].message


def test_the_access_map_shows_the_shared_identity_and_its_role(tmp_path: Path) -> None:
    assert main(["preview", "--stack", "aks-dev", "--quiet", "--out", str(tmp_path)]) == 0
    access = (tmp_path / "aks-dev" / "access-map.md").read_text()
    rows = [line for line in access.splitlines() if line.startswith("| `orders-")]
    assert len(rows) == 2 and all("| orders (" in row for row in rows)
    # Each member shows who else acts as the identity, and holds every role of it.
    assert all("shared by orders-eu/orders, orders-us/orders |" in row for row in rows)
    assert all(f"Storage Blob Data Reader at {SUBSCRIPTION}/resourceGroups/orders-data" in row for row in rows)
    identity = json.loads((tmp_path / "aks-dev" / "azure" / "identity-orders.json").read_text())
    assert [c["after"] for c in identity["federatedCredentials"]] == [[], ["orders-eu-orders-957e0f"]]


@pytest.mark.parametrize(
    "iss",
    [AKS_ISSUER, "https://oidc.prod-aks.azure.com/5e7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c/"],
)
def test_the_doctor_recognises_both_aks_issuer_shapes(tmp_path: Path, capsys: Any, iss: str) -> None:
    audience = "urn:pulumi:org:my-pulumi-org"
    token_file(tmp_path / "ok", "orders-eu", "orders", audience, issuer=iss)
    token_file(tmp_path / "bad", "orders-eu", "orders", audience, issuer=iss.rstrip("/"))
    argv = ["doctor", "--stack", "aks-dev", "--json", "--token-file"]
    assert main([*argv, str(tmp_path / "ok")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "admitted"
    assert any("AKS issuer's id is known only after deployment" in note for note in report["notes"])
    assert main([*argv, str(tmp_path / "bad")]) == 1
    (reason,) = json.loads(capsys.readouterr().out)["reasons"]
    assert reason["code"] == "issuer-mismatch" and "has no trailing '/'" in reason["message"]


def test_an_operator_workspace_acting_as_an_azure_identity_is_labelled_for_the_webhook() -> None:
    from tests.test_operator_stack import crd_errors

    stack = {"workload": "orders-eu/orders", "name": "orders", "stack": "acme/orders/prod", "programRef": "orders"}
    run = run_stack(_values(**{"keyless:operatorStacks": [stack]}))
    document = run.one("kubernetes:pulumi.com/v1:Stack").plain_inputs
    template = document["spec"]["workspaceTemplate"]["spec"]["podTemplate"]
    assert template["metadata"]["labels"] == {"azure.workload.identity/use": "true"}
    assert crd_errors(document) == []


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (
            [
                "get-token",
                "--environment",
                "AzurePublicCloud",
                "--server-id",
                "6dae",
                "--client-id",
                "80fa",
                "--tenant-id",
                "t",
                "--login",
                "devicecode",
            ],
            [
                "get-token",
                "--environment",
                "AzurePublicCloud",
                "--server-id",
                "6dae",
                "--tenant-id",
                "t",
                "--login",
                "azurecli",
            ],
        ),
        (["get-token", "-l=devicecode", "--server-id", "x"], ["get-token", "--server-id", "x", "--login", "azurecli"]),
        (["get-token", "--server-id", "x"], ["get-token", "--server-id", "x", "--login", "azurecli"]),
    ],
)
def test_kubelogin_is_told_to_use_the_azure_cli_login(written: list[str], expected: list[str]) -> None:
    assert azurecli_login(written) == expected


@pytest.mark.parametrize(
    ("name", "prefix"), [("keyless-dev", "keyless-dev"), ("team_a_dev", "team-a-dev"), ("a" * 63, "a" * 54)]
)
def test_the_dns_prefix_is_a_host_label_whatever_the_cluster_name(name: str, prefix: str) -> None:
    assert dns_prefix(name) == prefix


# --- who else holds an Azure identity --------------------------------------------------------------


def _refused(**first: Any) -> str:
    with pytest.raises(ConfigError) as error:
        load_stack_config(_values(**{"keyless:workloads": _workloads(**first)}), stack="aks-dev")
    return str(error.value)


def test_a_workload_cannot_join_another_workloads_own_identity_silently() -> None:
    """orders-us names orders-eu's default identity: it would take its roles without orders-eu saying so."""
    from keyless.core.azure import default_identity_name

    theirs = default_identity_name("orders-eu", "orders")
    values = _values(
        **{
            "keyless:workloads": [
                {**_workloads(azureIdentity=None)[0], "azureIdentity": None},
                {**_workloads()[1], "azureIdentity": theirs},
            ]
        }
    )
    with pytest.raises(ConfigError) as error:
        load_stack_config(values, stack="aks-dev")
    assert (
        f"keyless:workloads[1].azureIdentity: '{theirs}' is the identity orders-eu/orders (keyless:workloads[0]) "
        "gets by default, which does not declare it shared: this workload would silently hold its roles"
    ) in str(error.value)


def test_identity_names_that_differ_only_in_case_are_one_identity_and_spelt_alike() -> None:
    message = _refused(azureIdentity="Orders")
    assert (
        "keyless:workloads[1].azureIdentity: 'orders' is 'Orders' of keyless:workloads[0] spelt differently: Azure "
        "compares names case-insensitively, so they are one identity"
    ) in message


@pytest.mark.parametrize(
    ("role", "scope", "expected"),
    [
        ("Key Vault Administrator", SUBSCRIPTION, "Key Vault Administrator on the whole subscription"),
        (
            "Azure Kubernetes Service RBAC Cluster Admin",
            SUBSCRIPTION,
            "Azure Kubernetes Service RBAC Cluster Admin on the whole subscription",
        ),
    ],
)
def test_roles_that_hand_over_every_vault_or_cluster_are_flagged(role: str, scope: str, expected: str) -> None:
    run = run_stack(_values(**{"keyless:workloads": _workloads(azureRoles=[{"role": role, "scope": scope}])}))
    found = [v.message for v in violations(run) if v.policy == "azure-role-not-subscription-wide"]
    assert any(expected in message for message in found), found


def test_a_scope_with_a_dot_segment_is_refused_and_flagged() -> None:
    scope = f"{SUBSCRIPTION}/resourceGroups/orders-data/../../resourceGroups/other"
    message = _refused(azureRoles=[{"role": "Reader", "scope": scope}])
    assert "keyless:workloads[0].azureRoles[0].scope: " in message and "is not an ARM id of a role scope" in message
    assert broad_grant(role_definition_id("Reader", SUBSCRIPTION), scope) is not None


@pytest.mark.parametrize("role", ["Owner", "User Access Administrator", "Managed Identity Contributor"])
def test_no_workload_holds_the_resource_group_of_the_stacks_identities(role: str) -> None:
    run = run_stack(_values(**{"keyless:workloads": _workloads()}))
    group = run.one(IDENTITY).plain_inputs["resourceGroupName"]
    scope = f"{SUBSCRIPTION}/resourceGroups/{group.upper()}"  # Azure compares group names case-insensitively
    run = run_stack(_values(**{"keyless:workloads": _workloads(azureRoles=[{"role": role, "scope": scope}])}))
    found = [v for v in violations(run) if v.policy == "azure-role-not-over-the-stacks-identities"]
    assert [v.level for v in found] == ["mandatory"]
    assert f"{role} on the resource group {group.upper()}, which holds the stack's identities" in found[0].message
