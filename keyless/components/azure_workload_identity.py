"""A user-assigned managed identity that Kubernetes service accounts act as (Microsoft Entra
Workload ID): one federated credential per service account, written one after another, and the
identity's role assignments. Annotate each ServiceAccount with ``client_id`` (and ``tenant_id``),
and label its pods ``azure.workload.identity/use: "true"``."""

from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi
from pulumi_azure_native import authorization, managedidentity

from keyless.components._common import child_opts, validated
from keyless.core.azure import (
    AZURE_WORKLOAD_IDENTITY,
    TOKEN_EXCHANGE_AUDIENCE,
    credential_name,
    role_definition_id,
)
from keyless.core.naming import identifier_suffix, type_token
from keyless.core.pulumi_cloud import service_account_subject


class AzureServiceAccount(TypedDict):
    namespace: str
    """Namespace of the Kubernetes service account."""
    name: str
    """Name of the Kubernetes service account."""


class AzureRoleAssignment(TypedDict):
    role: str
    """A built-in role by name (e.g. Reader), a role definition UUID, or its ARM id."""
    scope: str
    """ARM id of the scope: a subscription, a resource group, or a resource."""


class AzureWorkloadIdentityArgs(TypedDict):
    resource_group_name: pulumi.Input[str]
    """Resource group of the identity (e.g. the cluster's)."""
    location: pulumi.Input[str]
    """Azure region of the identity."""
    identity_name: str
    """Name of the user-assigned identity (3-128 letters, digits, '-' and '_')."""
    issuer_url: pulumi.Input[str]
    """The cluster's OIDC issuer, exactly as its tokens' ``iss`` (AKS: with the trailing ``/``)."""
    service_accounts: Sequence[AzureServiceAccount]
    """The service accounts that act as the identity: 1 to 20 (Entra's limit per identity)."""
    roles: NotRequired[Sequence[AzureRoleAssignment]]
    """Roles the identity holds."""


class AzureWorkloadIdentity(pulumi.ComponentResource):
    """An Entra identity for Kubernetes service accounts, trusted through the cluster's issuer."""

    client_id: pulumi.Output[str]
    """The identity's client id: the ServiceAccount annotation ``azure.workload.identity/client-id``."""
    tenant_id: pulumi.Output[str]
    """The identity's tenant: the annotation ``azure.workload.identity/tenant-id``."""
    principal_id: pulumi.Output[str]
    """The identity's object id, which its role assignments name."""
    identity_id: pulumi.Output[str]
    """The identity's ARM id."""

    def __init__(self, name: str, args: AzureWorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        checked = validated(AZURE_WORKLOAD_IDENTITY, args)
        super().__init__(type_token("AzureWorkloadIdentity"), name, None, opts)

        # Keywords: the SDK spells the Azure name resource_name_, which its Args objects cannot carry.
        identity = managedidentity.UserAssignedIdentity(
            name,
            resource_group_name=checked["resource_group_name"],
            location=checked["location"],
            resource_name_=checked["identity_name"],
            opts=child_opts(self),
        )
        previous: list[pulumi.Resource] = []
        for account in checked["service_accounts"]:
            namespace, service_account = account["namespace"], account["name"]
            credential = managedidentity.FederatedIdentityCredential(
                f"{name}-{namespace}.{service_account}",
                resource_group_name=checked["resource_group_name"],
                resource_name_=identity.name,
                federated_identity_credential_resource_name=credential_name(namespace, service_account),
                issuer=checked["issuer_url"],
                subject=service_account_subject(namespace, service_account),
                audiences=[TOKEN_EXCHANGE_AUDIENCE],
                # Entra refuses concurrent writes of credentials under one identity (HTTP 409).
                opts=child_opts(self, depends_on=previous),
            )
            previous = [credential]
        for grant in checked["roles"]:
            authorization.RoleAssignment(
                # Named by what it grants, so reordering the roles changes no name.
                f"{name}-{identifier_suffix(grant['role'] + '@' + grant['scope'])}",
                authorization.RoleAssignmentArgs(
                    principal_id=identity.principal_id,
                    # Said outright, so that Azure does not look a new identity up before it replicates.
                    principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                    role_definition_id=role_definition_id(grant["role"], grant["scope"]),
                    scope=grant["scope"],
                ),
                opts=child_opts(self),
            )

        self.client_id = identity.client_id
        self.tenant_id = identity.tenant_id
        self.principal_id = identity.principal_id
        self.identity_id = identity.id
        self.register_outputs(
            {
                "client_id": self.client_id,
                "tenant_id": self.tenant_id,
                "principal_id": self.principal_id,
                "identity_id": self.identity_id,
            }
        )
