"""Azure: the AKS cluster's shape, and Microsoft Entra Workload ID for its service accounts.

An AKS cluster with the OIDC issuer and workload identity on publishes an issuer shaped
``https://<region>.oic.prod-aks.azure.com/<tenant>/<uuid>/`` (older clusters:
``https://oidc.prod-aks.azure.com/<uuid>/``), trailing ``/`` included: Entra compares it byte for
byte in each federated credential, and Pulumi Cloud gets it the same way. A workload acts as a
user-assigned managed identity through a federated credential naming that issuer, the subject
``system:serviceaccount:<ns>:<sa>`` and the audience ``api://AzureADTokenExchange``; its
ServiceAccount is annotated with the identity's client id, and its pods (not the account) carry
the label the webhook looks for. An identity holds at most 20 federated credentials, written one
at a time (concurrent writes under one identity fail with HTTP 409).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from keyless.core.problems import MISSING, Problem
from keyless.core.pulumi_cloud import cluster_issuer_url
from keyless.core.spec import Field, Keys, Spec, required
from keyless.core.values import boolean, dns1123_label, int_range, list_of, pattern, repeated

TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
TENANT_ID_ANNOTATION = "azure.workload.identity/tenant-id"
USE_LABEL = "azure.workload.identity/use"
POD_LABELS = {USE_LABEL: "true"}
"""What the pods of a workload with an Azure identity carry: the webhook mutates only those."""
MAX_FEDERATED_CREDENTIALS = 20
"""Entra's limit of federated credentials on one user-assigned identity."""
DEFAULT_NODE_COUNT = 2
DEFAULT_VM_SIZE = "Standard_D2s_v5"

BUILT_IN_ROLES = {
    # Built-in role definition ids are the same in every tenant (Azure's built-in roles page).
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "User Access Administrator": "18d7d88d-d35e-4fb1-a5c3-7773c20a72d9",
    "Role Based Access Control Administrator": "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Managed Identity Contributor": "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59",
    "Azure Kubernetes Service RBAC Cluster Admin": "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
}
BROAD_ROLES = (
    "Owner",
    "Contributor",
    "User Access Administrator",
    "Role Based Access Control Administrator",
    "Key Vault Administrator",
    "Azure Kubernetes Service RBAC Cluster Admin",
)
"""Roles that, at a whole subscription, hand a workload the subscription, the power to grant it, every
key vault's secrets or every cluster's workloads."""
OVER_IDENTITIES = ("Owner", "User Access Administrator", "Managed Identity Contributor")
"""Roles that, on the resource group of the stack's identities, let a workload federate any of them
to a token of its choosing, or grant them (and itself) roles: every workload's cloud identity."""

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_SUBSCRIPTION = re.compile(rf"^/subscriptions/({_UUID})(/resourceGroups/[-\w._()]+(/providers/.+)?)?$", re.IGNORECASE)
_DEFINITION = re.compile(
    rf"^/subscriptions/{_UUID}/providers/Microsoft\.Authorization/roleDefinitions/({_UUID})$", re.IGNORECASE
)

uuid = pattern(_UUID, "a UUID", "8-4-4-4-12 hexadecimal digits")
location = pattern(r"[a-z][a-z0-9]{1,39}", "an Azure region", "a region name such as 'westeurope' or 'eastus2'")
resource_group_name = pattern(
    r"[-\w._()]{0,89}[-\w_()]",
    "a resource group name",
    "1-90 letters, digits, '-', '_', '.', '(' and ')', not ending with '.'",
)
cluster_name = pattern(
    r"[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?",
    "an AKS cluster name",
    "1-63 letters, digits, '-' and '_', starting and ending with a letter or digit",
)
identity_name = pattern(
    r"[A-Za-z0-9][A-Za-z0-9_-]{2,127}",
    "a user-assigned identity name Azure accepts",
    "3-128 letters, digits, '-' and '_', starting with a letter or digit",
)
kubernetes_version = pattern(r"\d+\.\d+(\.\d+)?", "a Kubernetes version", "MAJOR.MINOR[.PATCH] such as '1.33'")
vm_size = pattern(r"Standard_[A-Za-z0-9_]+", "an Azure VM size", "a size such as 'Standard_D2s_v5'")


def dns_prefix(cluster_name: str) -> str:
    """The cluster's API server DNS prefix: its name as a host label allows it (1-54 letters, digits
    and '-'; a cluster name may hold '_', a DNS prefix may not)."""
    return cluster_name.replace("_", "-")[:54].strip("-") or "aks"


def _dot_segment(scope: str) -> bool:
    return any(part in (".", "..") for part in scope.split("/"))


def role_scope(key: str, value: Any) -> list[Problem]:
    """An ARM id under a subscription: the subscription, a resource group, or a resource in one
    (no ``.`` or ``..`` segment, which would name another scope than it reads as)."""
    if isinstance(value, str) and _SUBSCRIPTION.match(value) and not _dot_segment(value):
        return []
    return [
        Problem(
            key,
            value,
            "is not an ARM id of a role scope",
            "'/subscriptions/<uuid>', '/subscriptions/<uuid>/resourceGroups/<group>' or a resource id below it",
        )
    ]


def role(key: str, value: Any) -> list[Problem]:
    """A built-in role by name, a role definition's UUID, or its full ARM id."""
    if isinstance(value, str) and (value in BUILT_IN_ROLES or re.fullmatch(_UUID, value) or _DEFINITION.match(value)):
        return []
    return [
        Problem(
            key,
            value,
            "is not a role definition",
            f"a role definition UUID or ARM id, or a built-in role: {', '.join(sorted(BUILT_IN_ROLES))}",
        )
    ]


ROLE_ASSIGNMENT = Spec("azureRoles", {"role": required(role), "scope": required(role_scope)})
"""A role an identity holds, at a scope."""


def subscription_of(scope: str) -> str:
    match = _SUBSCRIPTION.match(scope)
    assert match is not None  # role_scope checked it
    return match.group(1)


def role_definition_id(role_name: str, scope: str) -> str:
    """The role definition's ARM id, in the scope's subscription."""
    found = _DEFINITION.match(role_name)
    guid = found.group(1) if found else BUILT_IN_ROLES.get(role_name, role_name)
    return f"/subscriptions/{subscription_of(scope)}/providers/Microsoft.Authorization/roleDefinitions/{guid.lower()}"


def role_name(definition_id: str) -> str:
    """A role definition id as a reader knows it: the built-in role's name, else its UUID."""
    guid = definition_id.rsplit("/", 1)[-1].lower()
    return next((name for name, known in BUILT_IN_ROLES.items() if known == guid), guid)


def broad_grant(definition_id: Any, scope: Any) -> str | None:
    """Why a role assignment hands over a subscription, if it does (or names its scope with a ``..``)."""
    if not isinstance(definition_id, str) or not isinstance(scope, str):
        return None
    name = role_name(definition_id)
    if _dot_segment(scope):
        return f"{name} at {scope!r}, a scope with a '.' or '..' segment (it names another scope than it reads as)"
    match = _SUBSCRIPTION.match(scope)
    if name in BROAD_ROLES and match is not None and match.group(2) is None:
        return f"{name} on the whole subscription {match.group(1)}"
    return None


def resource_group_scope(subscription: str, group: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{group}".lower()


def over_identities(definition_id: Any, scope: Any, identity_groups: Sequence[str]) -> str | None:
    """Why a role assignment on the resource group of the stack's identities hands them over, if it
    does (``identity_groups`` are resource group names, compared as Azure does, case-insensitively)."""
    if not isinstance(definition_id, str) or not isinstance(scope, str):
        return None
    name = role_name(definition_id)
    match = _SUBSCRIPTION.match(scope)
    groups = {group.lower() for group in identity_groups}
    if name not in OVER_IDENTITIES or match is None or match.group(2) is None or match.group(3) is not None:
        return None
    group = match.group(2).split("/")[-1]
    if group.lower() in groups:
        return f"{name} on the resource group {group}, which holds the stack's identities"
    return None


def _digest(text_: str) -> str:
    return hashlib.sha256(text_.encode()).hexdigest()[:6]


def default_identity_name(namespace: str, service_account: str) -> str:
    """A workload's own identity: ``<ns>-<sa>-<6 hex>`` (the digest of ``ns/sa`` keeps ``a-b/c`` and
    ``a/b-c`` apart, as Azure names allow no ``.`` or ``/``)."""
    return f"{namespace}-{service_account}"[:120] + f"-{_digest(f'{namespace}/{service_account}')}"


def credential_name(namespace: str, service_account: str) -> str:
    """A federated credential's name under its identity: one per service account."""
    return f"{namespace}-{service_account}"[:110] + f"-{_digest(f'{namespace}/{service_account}')}"


def credentials_per_identity(members: Sequence[tuple[str, str, str]]) -> list[Problem]:
    """``members`` are (key, identity name, namespace/sa): more than Entra's 20 credentials on one
    identity are refused, naming the limit."""
    counts: dict[str, list[str]] = {}
    for key, identity, _ in members:
        counts.setdefault(identity, []).append(key)
    return [
        Problem(
            keys[-1],
            name,
            f"would hold {len(keys)} federated credentials; Entra allows at most {MAX_FEDERATED_CREDENTIALS} on one "
            "identity",
            "split the workloads over several identities (azureIdentity)",
        )
        for name, keys in counts.items()
        if len(keys) > MAX_FEDERATED_CREDENTIALS
    ]


def _admins_for_entra_login(values: Mapping[str, Any], keys: Keys) -> list[Problem]:
    if values.get("disable_local_accounts") is True and not values.get("admin_group_object_ids"):
        return [
            Problem(
                keys.of("admin_group_object_ids"),
                MISSING,
                f"missing; with {keys.name('disable_local_accounts')} the cluster is reached through Microsoft "
                "Entra ID only, and someone must be its administrator",
                f"the object ids of the Entra groups that administer the cluster, or {keys.name('disable_local_accounts')}"
                ": false",
            )
        ]
    return []


AKS_CLUSTER = Spec(
    "AksCluster",
    {
        "location": required(location),
        "cluster_name": required(cluster_name),
        "resource_group_name": Field(resource_group_name),
        "kubernetes_version": Field(kubernetes_version),
        "node_count": Field(int_range(1, 100), DEFAULT_NODE_COUNT, "int"),
        "vm_size": Field(vm_size, DEFAULT_VM_SIZE),
        "disable_local_accounts": Field(boolean, True, "bool"),
        "admin_group_object_ids": Field(list_of(uuid), (), "list"),
        "enforce_network_policy": Field(boolean, True, "bool"),
        "deletion_protection": Field(boolean, True, "bool"),
    },
    (_admins_for_entra_login,),
)

AKS_LOOKUP = Spec(
    "aks",
    {
        "resource_group_name": required(resource_group_name),
        "cluster_name": required(cluster_name),
    },
)
"""An AKS cluster to look up: its issuer and location, and a kubeconfig from its user credentials."""

_ACCOUNT = Spec("ServiceAccountRef", {"namespace": required(dns1123_label), "name": required(dns1123_label)})


def _credentials(values: Mapping[str, Any], keys: Keys) -> list[Problem]:
    accounts = values.get("service_accounts")
    if not isinstance(accounts, (list, tuple)):
        return []
    problems = repeated(
        [
            (f"{keys.of('service_accounts')}[{i}]", f"{a.get('namespace')}/{a.get('name')}")
            for i, a in enumerate(accounts)
            if isinstance(a, Mapping)
        ],
        "namespace/name",
    )
    if not accounts or len(accounts) > MAX_FEDERATED_CREDENTIALS:
        problems.append(
            Problem(
                keys.of("service_accounts"),
                MISSING,
                f"names {len(accounts)} service accounts",
                f"1 to {MAX_FEDERATED_CREDENTIALS}: Entra holds at most {MAX_FEDERATED_CREDENTIALS} federated "
                "credentials on one identity",
            )
        )
    return problems


AZURE_WORKLOAD_IDENTITY = Spec(
    "AzureWorkloadIdentity",
    {
        "resource_group_name": required(resource_group_name),
        "location": required(location),
        "identity_name": required(identity_name),
        "issuer_url": required(cluster_issuer_url),
        "service_accounts": required(kind="objects", spec=_ACCOUNT),
        "roles": Field(kind="objects", spec=ROLE_ASSIGNMENT, default=()),
    },
    (_credentials,),
)
"""One user-assigned identity: a federated credential per service account, and its roles."""


def aks_issuer_url(profile: Any) -> str:
    """The issuer from a cluster's ``oidc_issuer_profile``, byte for byte (never normalised)."""
    url = getattr(profile, "issuer_url", None)
    if not url:
        raise ValueError("the AKS cluster reports no OIDC issuer: oidc_issuer_profile.enabled must be true")
    return str(url)


def kubeconfig_from_credentials(kubeconfigs: Sequence[Any]) -> str:
    """The first kubeconfig AKS lists for the cluster's users, decoded (AKS returns it base64-encoded).

    On a cluster reached through Entra ID, AKS writes ``kubelogin get-token --login devicecode``,
    which waits for someone to type a code: ``pulumi up`` would hang. The login here is
    ``azurecli`` instead (what ``kubelogin convert-kubeconfig -l azurecli`` does), so the provider
    acts as whoever ran ``az login``, as the GKE and EKS kubeconfigs act as gcloud's and aws's."""
    import yaml

    config = yaml.safe_load(base64.b64decode(str(kubeconfigs[0].value)).decode())
    for user in config.get("users") or []:
        execution = (user.get("user") or {}).get("exec") or {}
        if str(execution.get("command", "")).endswith("kubelogin"):
            execution["args"] = azurecli_login(list(execution.get("args") or []))
    return str(yaml.safe_dump(config, sort_keys=False))


def azurecli_login(args: list[str]) -> list[str]:
    """kubelogin's ``get-token`` arguments with the Azure CLI login: ``--login``/``-l`` replaced,
    and the flags only an interactive login reads (the public client's id) dropped."""
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in ("--login", "-l", "--client-id"):
            skip = "=" not in arg
            continue
        kept.append(arg)
    return [*kept, "--login", "azurecli"]
