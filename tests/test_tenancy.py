"""Who else could use a grant. For each grant a stack makes (an issuer policy, the ESO controller's
Role, a store, a runner's Role, a cloud identity), a stack file one change away from a committed one
must not hand it to another tenant: a system or controller namespace, a namespace's ``default``
account, an account another entry owns, a name another entry already renders. Each is refused
before any resource, naming the key; a reserved namespace is allowed only by the entry's own
``allowReservedNamespace``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from keyless.components.keyless_esc_store import KeylessEscStore
from keyless.components.keyless_workflow_runner import KeylessWorkflowRunner
from keyless.components.pulumi_cloud_trust import PulumiCloudTrust
from keyless.components.workload_service_account import WorkloadServiceAccount
from keyless.config import ConfigError, load_stack_config
from keyless.core.problems import InvalidArgumentError
from tests.conftest import load_stack_file, run_component, run_stack

RESERVED = [
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "default",
    "external-secrets",
    "pulumi-kubernetes-operator",
]


def _stack(stack: str, section: str, index: int = 0, /, **changes: Any) -> dict[str, str]:
    """The committed ``stack`` with keys of one entry of ``section`` changed (None removes one)."""
    values, _ = load_stack_file(stack)
    entries = json.loads(values[f"keyless:{section}"])
    entries[index] = {k: v for k, v in {**entries[index], **changes}.items() if v is not None}
    return {**values, f"keyless:{section}": json.dumps(entries)}


def _refused(values: dict[str, str], stack: str) -> str:
    with pytest.raises(ConfigError) as error:
        load_stack_config(values, stack=stack)
    return str(error.value)


# --- reserved namespaces ---------------------------------------------------------------------------

ENTRIES = [("dev", "workloads"), ("existing-dev", "escStores"), ("platform", "workflowRunners")]


@pytest.mark.parametrize("namespace", RESERVED)
@pytest.mark.parametrize(("stack", "section"), ENTRIES)
def test_no_entry_lives_in_a_system_or_controller_namespace(stack: str, section: str, namespace: str) -> None:
    message = _refused(_stack(stack, section, namespace=namespace), stack)
    assert f"keyless:{section}[0].namespace: '{namespace}' is " in message
    assert "whoever may run pods there could act as this entry's accounts" in message


@pytest.mark.parametrize(("stack", "section"), ENTRIES)
def test_a_reserved_namespace_is_an_entrys_explicit_choice(stack: str, section: str) -> None:
    config = load_stack_config(
        _stack(stack, section, namespace="kube-system", allowReservedNamespace=True), stack=stack
    )
    assert config.entries[section][0].reference.startswith("kube-system/")


def test_the_namespace_a_store_names_for_its_controller_is_reserved_for_every_entry() -> None:
    values = _stack("existing-dev", "escStores", controllerNamespace="secrets-system")
    workloads = json.loads(values["keyless:workloads"])
    workloads[1]["namespace"] = "secrets-system"
    message = _refused({**values, "keyless:workloads": json.dumps(workloads)}, "existing-dev")
    assert (
        "keyless:workloads[1].namespace: 'secrets-system' is the namespace of External Secrets' controller" in message
    )


def test_the_stack_never_creates_nor_relabels_a_reserved_namespace() -> None:
    run = run_stack(_stack("dev", "workloads", namespace="kube-system", allowReservedNamespace=True))
    assert run.of_type("kubernetes:core/v1:Namespace") == [], "kube-system exists, and is not the stack's to label"
    account = run.one("kubernetes:core/v1:ServiceAccount").plain_inputs["metadata"]
    assert (account["namespace"], account["name"]) == ("kube-system", "pulumi-runner")


@pytest.mark.parametrize(
    "build",
    [
        lambda: KeylessWorkflowRunner(
            "r", {"namespace": "kube-system", "name": "agents", "organization": "acme", "pool_id": "p"}
        ),
        lambda: KeylessEscStore(
            "s",
            {
                "namespace": "eso",
                "name": "s",
                "organization": "acme",
                "project": "p",
                "environment": "e",
                "role_id": "r",
                "controller_namespace": "eso",
            },
        ),
        lambda: WorkloadServiceAccount("w", {"namespace": "kube-public", "name": "w"}),
    ],
)
def test_components_refuse_a_reserved_namespace_before_any_resource(build: Any) -> None:
    with pytest.raises(InvalidArgumentError) as error:
        run_component(build)
    assert "namespace: " in str(error.value) and "allow_reserved_namespace: true to take the risk" in str(error.value)


def test_a_component_in_a_reserved_namespace_on_purpose() -> None:
    run = run_component(
        lambda: WorkloadServiceAccount("w", {"namespace": "default", "name": "w", "allow_reserved_namespace": True})
    )
    assert run.one("kubernetes:core/v1:ServiceAccount").plain_inputs["metadata"]["namespace"] == "default"


# --- default accounts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "section", "changes", "key"),
    [
        ("dev", "workloads", {"serviceAccount": "default"}, "keyless:workloads[0].serviceAccount"),
        ("existing-dev", "escStores", {"serviceAccount": "default"}, "keyless:escStores[0].serviceAccount"),
        (
            "platform",
            "workflowRunners",
            {"workerServiceAccount": "default"},
            "keyless:workflowRunners[0].workerServiceAccount",
        ),
        ("platform", "workflowRunners", {"name": "default"}, "keyless:workflowRunners[0].name"),
    ],
)
def test_no_grant_goes_to_a_namespaces_default_account(stack: str, section: str, changes: Any, key: str) -> None:
    message = _refused(_stack(stack, section, **changes), stack)
    assert f"{key}: 'default' is every pod's account in its namespace" in message


def test_the_issuer_trusts_no_default_account_from_any_program() -> None:
    args: Any = {
        "organization": "acme",
        "issuer_url": "https://oidc.eks.us-east-1.amazonaws.com/id/0F1E2D3C4B5A69788796A5B4C3D2E1F0",
        "issuer_name": "i",
        "workloads": [{"namespace": "apps", "service_account": "default", "token_type": "team", "team_name": "t"}],
    }
    with pytest.raises(InvalidArgumentError) as error:
        run_component(lambda: PulumiCloudTrust("trust", args))
    assert "workloads[0].service_account: 'default' is every pod's account" in str(error.value)


# --- names another entry renders -------------------------------------------------------------------


def test_an_operator_stack_is_declared_once() -> None:
    values, _ = load_stack_file("platform")
    stacks = json.loads(values["keyless:operatorStacks"])
    message = _refused({**values, "keyless:operatorStacks": json.dumps(stacks * 2)}, "platform")
    assert (
        "keyless:operatorStacks[1].name: the Stack pulumi-stacks/networking repeats keyless:operatorStacks[0].name"
        in message
    )


def test_two_stores_never_write_one_secret_and_cluster_stores_have_cluster_wide_names() -> None:
    values, _ = load_stack_file("existing-dev")
    (store,) = json.loads(values["keyless:escStores"])
    other = {**store, "name": "payments-2", "serviceAccount": "payments-2-esc"}
    message = _refused({**values, "keyless:escStores": json.dumps([store, other])}, "existing-dev")
    assert "keyless:escStores[1].externalSecrets[0].name: the ExternalSecret payments/payments-db repeats" in message
    cluster = [{**store, "clusterScoped": True, "externalSecrets": []}]
    cluster.append({**cluster[0], "namespace": "billing"})
    message = _refused({**values, "keyless:escStores": json.dumps(cluster)}, "existing-dev")
    assert "keyless:escStores[1].name: the ClusterSecretStore payments repeats keyless:escStores[0].name" in message


@pytest.mark.parametrize(
    ("stack", "section", "name", "message"),
    [
        ("existing-dev", "escStores", "s" * 63, "leaves no valid name for its account 'sss"),
        ("platform", "workflowRunners", "r" * 60, "leaves no valid name for its worker account 'rrr"),
    ],
)
def test_a_name_leaves_room_for_the_accounts_named_after_it(stack: str, section: str, name: str, message: str) -> None:
    text = _refused(_stack(stack, section, name=name), stack)
    assert f"keyless:{section}[0].name: '{name}' {message}" in text


def test_a_cluster_section_of_another_cloud_is_refused_not_ignored() -> None:
    values, _ = load_stack_file("dev")
    message = _refused({**values, "keyless:aks": json.dumps({"clusterName": "x"})}, "dev")
    assert "keyless:aks: is set, but keyless:cloud is 'gke'" in message


@pytest.mark.parametrize(
    ("stack", "key", "section"),
    [
        ("dev", "exchangedTokenLifetime", "loginJob"),
        ("platform", "tokenExpiration", "workflowRunners"),
        ("platform", "exchangedTokenLifetime", "operatorStacks"),
    ],
)
def test_a_token_lifetime_is_one_an_issuer_grants(stack: str, key: str, section: str) -> None:
    values, _ = load_stack_file(stack)
    if section == "loginJob":
        values = {**values, "keyless:loginJob": json.dumps({**json.loads(values["keyless:loginJob"]), key: "0s"})}
        where = f"keyless:loginJob.{key}"
    else:
        values = _stack(stack, section, **{key: "0s"})
        where = f"keyless:{section}[0].{key}"
    assert f"{where}: '0s' (0s) is shorter than any token an issuer grants; expected at least 5m" in _refused(
        values, stack
    )
