"""Microsoft Entra Workload ID (AKS, the default there): a user-assigned managed identity with a
federated credential per service account (the cluster's issuer, the account's subject, audience
``api://AzureADTokenExchange``), its role assignments, the ServiceAccount annotated with its client
and tenant ids, and the pods labelled ``azure.workload.identity/use: "true"`` for the webhook.

Workloads may share one identity (``azureIdentity: NAME``), as one application in several
namespaces does: the first of them creates it with a credential for each, one after another, and
the roles all of them name. Entra holds at most 20 credentials on an identity: more is refused at
preview, naming the limit.
"""

from __future__ import annotations

from collections.abc import Sequence

from keyless.core import azure
from keyless.core.problems import Problem
from keyless.core.spec import Field
from keyless.identity import Access, Binding, Created, Mode, Peer, register
from keyless.record import Registration

SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"

FIELDS = {
    "azure_identity": Field(
        azure.identity_name,
        doc="AKS: the user-assigned identity the workload acts as; workloads naming the same one share it "
        "(default: its own, <namespace>-<serviceAccount>-<digest>).",
    ),
    "azure_roles": Field(
        kind="objects",
        spec=azure.ROLE_ASSIGNMENT,
        default=(),
        doc="AKS: roles of the workload's identity, each {role, scope}: a built-in role name, a role "
        "definition UUID or ARM id, at an ARM scope.",
    ),
}


def identity_of(peer: Peer) -> str:
    return str(peer.settings.get("azure_identity") or azure.default_identity_name(peer.namespace, peer.service_account))


def create(binding: Binding) -> Created:
    from keyless.components.azure_workload_identity import (
        AzureRoleAssignment,
        AzureWorkloadIdentity,
        AzureWorkloadIdentityArgs,
    )

    mine = Peer(binding.namespace, binding.service_account, binding.settings)
    name = identity_of(mine)
    created = binding.shared.get(name)
    if created is None:
        members = [peer for peer in binding.peers if identity_of(peer) == name] or [mine]
        roles: dict[tuple[str, str], AzureRoleAssignment] = {}
        for peer in members:
            for grant in peer.settings.get("azure_roles") or ():
                roles.setdefault((grant["role"], grant["scope"]), {"role": grant["role"], "scope": grant["scope"]})
        args: AzureWorkloadIdentityArgs = {
            "resource_group_name": binding.cluster["azure_resource_group"],
            "location": binding.cluster["azure_location"],
            "identity_name": name,
            "issuer_url": binding.cluster["issuer_url"],
            "service_accounts": [{"namespace": p.namespace, "name": p.service_account} for p in members],
            "roles": list(roles.values()),
        }
        created = AzureWorkloadIdentity(name, args, binding.options("AzureWorkloadIdentity"))
        binding.shared[name] = created
    annotations = {azure.CLIENT_ID_ANNOTATION: created.client_id, azure.TENANT_ID_ANNOTATION: created.tenant_id}
    return Created(created.client_id, annotations)


def check_all(members: Sequence[tuple[str, Peer]]) -> list[Problem]:
    return azure.credentials_per_identity(
        [
            (f"{key}.azureIdentity", identity_of(peer), f"{peer.namespace}/{peer.service_account}")
            for key, peer in members
        ]
    )


def describe(registrations: Sequence[Registration]) -> dict[tuple[str, str], Access]:
    identities = {r.state.get("clientId"): r for r in registrations if r.type == IDENTITY}
    found = {}
    for r in registrations:
        meta = r.plain_inputs.get("metadata", {}) if r.type == SERVICE_ACCOUNT else {}
        client_id = (meta.get("annotations") or {}).get(azure.CLIENT_ID_ANNOTATION)
        identity = identities.get(client_id)
        if identity is None:
            continue
        principal = identity.state.get("principalId")
        grants = tuple(
            f"{azure.role_name(str(a.plain_inputs.get('roleDefinitionId')))} at {a.plain_inputs.get('scope')}"
            for a in registrations
            if a.type == ASSIGNMENT and a.plain_inputs.get("principalId") == principal
        )
        name = identity.plain_inputs.get("resourceName")
        found[(str(meta.get("namespace")), str(meta.get("name")))] = Access(f"{name} ({client_id})", grants)
    return found


MODE = register(
    Mode(
        name="azureWorkloadIdentity",
        summary="a user-assigned identity trusting the ServiceAccount (annotated; its pods labelled)",
        clouds=("aks",),
        default_on=("aks",),
        create=create,
        describe=describe,
        fields=FIELDS,
        needs=frozenset({"issuer_url", "azure_resource_group", "azure_location"}),
        cloud_token_audience=azure.TOKEN_EXCHANGE_AUDIENCE,
        guardrails=("azure-role-not-subscription-wide",),
        pod_labels=azure.POD_LABELS,
        check_all=check_all,
    )
)
