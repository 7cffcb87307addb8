"""Project roles granted to a Kubernetes service account's own principal (GKE, no Google service account)."""

from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi
from pulumi_gcp import projects

from keyless.components._common import child_opts, validated
from keyless.core.gcp import GKE_WORKLOAD_PRINCIPAL, direct_principal
from keyless.core.naming import child_names, type_token


class GkeWorkloadPrincipalArgs(TypedDict):
    project: pulumi.Input[str]
    """Project whose roles are granted."""
    project_number: pulumi.Input[str]
    """Number of the project that owns the workload identity pool (the principal names it)."""
    workload_pool: pulumi.Input[str]
    """The cluster's pool (``<project>.svc.id.goog``); pass the cluster's output so grants wait for it."""
    namespace: pulumi.Input[str]
    """Namespace of the Kubernetes service account."""
    service_account: pulumi.Input[str]
    """Name of the Kubernetes service account."""
    project_roles: NotRequired[Sequence[str]]
    """Project roles granted to the principal, e.g. roles/storage.objectViewer."""


class GkeWorkloadPrincipal(pulumi.ComponentResource):
    """Grants project roles to ``principal://…/subject/ns/<ns>/sa/<ksa>``: no impersonation, no annotation."""

    principal: pulumi.Output[str]
    """The IAM principal of the Kubernetes service account."""

    def __init__(self, name: str, args: GkeWorkloadPrincipalArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        checked = validated(GKE_WORKLOAD_PRINCIPAL, args)
        super().__init__(type_token("GkeWorkloadPrincipal"), name, None, opts)

        principal = pulumi.Output.all(
            checked["project_number"], checked["workload_pool"], checked["namespace"], checked["service_account"]
        ).apply(lambda parts: direct_principal(parts[0], parts[1], parts[2], parts[3]))
        roles = list(checked["project_roles"])
        for role, (child, _) in zip(roles, child_names(name, roles), strict=True):
            projects.IAMMember(child, project=checked["project"], role=role, member=principal, opts=child_opts(self))
        self.principal = principal
        self.register_outputs({"principal": self.principal})
