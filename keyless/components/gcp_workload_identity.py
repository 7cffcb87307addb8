"""A Google service account that one Kubernetes service account acts as, through Workload Identity."""

from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi
from pulumi_gcp import projects, serviceaccount

from keyless.components._common import aliases, child_opts, lifted, validated
from keyless.core.gcp import GCP_WORKLOAD_IDENTITY, WORKLOAD_IDENTITY_USER, gsa_account_id, workload_identity_member
from keyless.core.naming import child_names, type_token


class GcpWorkloadIdentityArgs(TypedDict):
    project: pulumi.Input[str]
    """Project of the Google service account and of the granted roles."""
    workload_pool: pulumi.Input[str]
    """The cluster's pool (``<project>.svc.id.goog``); pass the cluster's output so the binding waits for it."""
    namespace: pulumi.Input[str]
    """Namespace of the Kubernetes service account."""
    service_account: pulumi.Input[str]
    """Name of the Kubernetes service account."""
    account_id: NotRequired[str]
    """Google service account id (6-30 characters); default derived from namespace and name."""
    project_roles: NotRequired[Sequence[str]]
    """Project roles granted to the Google service account, e.g. roles/storage.objectViewer."""


class GcpWorkloadIdentity(pulumi.ComponentResource):
    """Google service account + ``roles/iam.workloadIdentityUser`` for one Kubernetes service account."""

    email: pulumi.Output[str]
    """Email of the Google service account (the KSA annotation's value)."""
    member: pulumi.Output[str]
    """IAM member of the Kubernetes service account in the workload pool."""

    def __init__(self, name: str, args: GcpWorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        checked = validated(GCP_WORKLOAD_IDENTITY, args)
        account_id = checked["account_id"]
        super().__init__(type_token("GcpWorkloadIdentity"), name, None, opts)

        namespace, ksa = checked["namespace"], checked["service_account"]
        gsa = serviceaccount.Account(
            name,
            account_id=account_id if account_id is not None else lifted(gsa_account_id, namespace, ksa),
            project=checked["project"],
            display_name=lifted(lambda ns, sa: f"Workload Identity for {ns}/{sa}", namespace, ksa),
            opts=child_opts(self),
        )
        # The member names the pool, which only exists once a Workload Identity cluster does
        # ("Identity Pool does not exist"): taking the pool from the cluster's output orders it.
        member = pulumi.Output.from_input(lifted(workload_identity_member, checked["workload_pool"], namespace, ksa))
        serviceaccount.IAMMember(
            f"{name}-workload-identity-user",
            service_account_id=gsa.name,
            role=WORKLOAD_IDENTITY_USER,
            member=member,
            opts=child_opts(self),
        )
        roles = list(checked["project_roles"])
        for role, (child, earlier) in zip(roles, child_names(name, roles), strict=True):
            projects.IAMMember(
                child,
                project=checked["project"],
                role=role,
                member=gsa.email.apply(lambda email: f"serviceAccount:{email}"),
                opts=child_opts(self, aliases=aliases(earlier)),
            )

        self.email = gsa.email
        self.member = member
        self.register_outputs({"email": self.email, "member": self.member})
