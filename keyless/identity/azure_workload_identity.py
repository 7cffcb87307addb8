"""Microsoft Entra Workload ID (AKS, the default there): a user-assigned managed identity with a
federated credential per service account (the cluster's issuer, the account's subject, audience
``api://AzureADTokenExchange``), its role assignments, the ServiceAccount annotated with its client
and tenant ids, and the pods labelled ``azure.workload.identity/use: "true"`` for the webhook.

Workloads may share one identity (``azureIdentity: NAME``), as one application in several
namespaces does: the first of them creates it with a credential for each, one after another, and
the roles all of them name, so each of them holds every role. Sharing is declared by every member:
a workload that names another's own identity (the name it gets by default) is refused, as it
would silently take that workload's roles. Azure compares names case-insensitively, so do the
rules here: ``Orders`` and ``orders`` are one identity and must be spelt alike. Entra holds at most
20 credentials on an identity: more is refused at preview, naming the limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


def same_identity(one: str, other: str) -> bool:
    """Azure resource names compare case-insensitively."""
    return one.lower() == other.lower()


def create(binding: Binding) -> Created:
    from keyless.components.azure_workload_identity import (
        AzureRoleAssignment,
        AzureWorkloadIdentity,
        AzureWorkloadIdentityArgs,
    )

    mine = Peer(binding.namespace, binding.service_account, binding.settings)
    name = identity_of(mine)
    created = binding.shared.get(name.lower())
    if created is None:
        members = [peer for peer in binding.peers if same_identity(identity_of(peer), name)] or [mine]
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
        binding.shared[name.lower()] = created
    annotations = {azure.CLIENT_ID_ANNOTATION: created.client_id, azure.TENANT_ID_ANNOTATION: created.tenant_id}
    return Created(created.client_id, annotations)


def check_all(members: Sequence[tuple[str, Peer]]) -> list[Problem]:
    """Per identity: at most Entra's credentials, declared by every member, spelt alike."""
    problems = azure.credentials_per_identity(
        [
            (f"{key}.azureIdentity", identity_of(peer).lower(), f"{peer.namespace}/{peer.service_account}")
            for key, peer in members
        ]
    )
    groups: dict[str, list[tuple[str, Peer]]] = {}
    for key, peer in members:
        groups.setdefault(identity_of(peer).lower(), []).append((key, peer))
    for group in groups.values():
        declared = [(key, peer) for key, peer in group if peer.settings.get("azure_identity") is not None]
        undeclared = [(key, peer) for key, peer in group if peer.settings.get("azure_identity") is None]
        for owner_key, owner in undeclared[:1]:
            problems += [
                Problem(
                    f"{key}.azureIdentity",
                    identity_of(peer),
                    f"is the identity {owner.namespace}/{owner.service_account} ({owner_key}) gets by default, "
                    "which does not declare it shared: this workload would silently hold its roles",
                    f"a name of its own, or the same azureIdentity on {owner_key} too",
                )
                for key, peer in declared
            ]
        spelt = identity_of(declared[0][1]) if declared else None
        problems += [
            Problem(
                f"{key}.azureIdentity",
                identity_of(peer),
                f"is {spelt!r} of {declared[0][0]} spelt differently: Azure compares names case-insensitively, so "
                "they are one identity",
                f"{spelt!r}, spelt alike on every workload that shares it",
            )
            for key, peer in declared[1:]
            if identity_of(peer) != spelt
        ]
    return problems


def describe(registrations: Sequence[Registration]) -> dict[tuple[str, str], Access]:
    """Each account with an Azure identity: the identity, every account that shares it, and every
    role it holds (each member holds them all)."""
    identities = {r.state.get("clientId"): r for r in registrations if r.type == IDENTITY}
    accounts: dict[Any, list[tuple[str, str]]] = {}
    for r in registrations:
        meta = r.plain_inputs.get("metadata", {}) if r.type == SERVICE_ACCOUNT else {}
        client_id = (meta.get("annotations") or {}).get(azure.CLIENT_ID_ANNOTATION)
        if client_id in identities:
            accounts.setdefault(client_id, []).append((str(meta.get("namespace")), str(meta.get("name"))))
    found = {}
    for client_id, members in accounts.items():
        identity = identities[client_id]
        principal = identity.state.get("principalId")
        grants = tuple(
            f"{azure.role_name(str(a.plain_inputs.get('roleDefinitionId')))} at {a.plain_inputs.get('scope')}"
            for a in registrations
            if a.type == ASSIGNMENT and a.plain_inputs.get("principalId") == principal
        )
        text = f"{identity.plain_inputs.get('resourceName')} ({client_id})"
        if len(members) > 1:
            text += ", shared by " + ", ".join(f"{ns}/{sa}" for ns, sa in sorted(members))
        found.update({member: Access(text, grants) for member in members})
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
        guardrails=("azure-role-not-subscription-wide", "azure-role-not-over-the-stacks-identities"),
        pod_labels=azure.POD_LABELS,
        check_all=check_all,
    )
)
