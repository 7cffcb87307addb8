"""A Google service account that one Kubernetes service account acts as, through Workload Identity."""

import hashlib
import re
from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi
from pulumi_gcp import projects, serviceaccount

from components._common import (
    InvalidArgumentError,
    check_dns1123_label,
    check_non_empty,
    child_opts,
    resource_suffix,
    type_token,
    when_plain,
)

WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"
_ACCOUNT_ID = re.compile(r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")
_ROLE = re.compile(
    r"^(roles/[A-Za-z0-9_.]+|projects/[^/]+/roles/[A-Za-z0-9_.]+|organizations/[0-9]+/roles/[A-Za-z0-9_.]+)$"
)


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


def gsa_account_id(namespace: str, service_account: str) -> str:
    """A valid, stable Google service account id for a Kubernetes service account.

    Readable prefix, plus a digest of namespace/name: joined with "-" alone, a-b/c and a/b-c
    would get the same id, and ids are unique per project.
    """
    base = re.sub(r"[^a-z0-9-]+", "-", f"{namespace}-{service_account}".lower()).strip("-")
    if not base[:1].isalpha():
        base = f"ksa-{base}"
    digest = hashlib.sha256(f"{namespace}/{service_account}".encode()).hexdigest()[:6]
    return f"{base[:23].rstrip('-')}-{digest}"


def workload_identity_member(pool: str, namespace: str, service_account: str) -> str:
    """The IAM member naming a Kubernetes service account in a workload identity pool."""
    return f"serviceAccount:{pool}[{namespace}/{service_account}]"


def check_project_role(key: str, role: object) -> str:
    if not isinstance(role, str) or not _ROLE.match(role):
        raise InvalidArgumentError(
            f"{key}: {role!r} is not an IAM role; expected 'roles/NAME', "
            "'projects/PROJECT/roles/NAME' or 'organizations/ID/roles/NAME'"
        )
    return role


class GcpWorkloadIdentity(pulumi.ComponentResource):
    """Google service account + ``roles/iam.workloadIdentityUser`` for one Kubernetes service account."""

    email: pulumi.Output[str]
    """Email of the Google service account (the KSA annotation's value)."""
    member: pulumi.Output[str]
    """IAM member of the Kubernetes service account in the workload pool."""

    def __init__(self, name: str, args: GcpWorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        when_plain(args.get("project"), lambda v: check_non_empty("project", v))
        when_plain(args.get("namespace"), lambda v: check_dns1123_label("namespace", v))
        when_plain(args.get("service_account"), lambda v: check_dns1123_label("service_account", v))
        account_id = args.get("account_id")
        if account_id is not None and (not isinstance(account_id, str) or not _ACCOUNT_ID.match(account_id)):
            raise InvalidArgumentError(
                f"account_id: {account_id!r} is not a service account id; expected 6-30 lower-case "
                "letters, digits and '-', starting with a letter"
            )
        roles = [
            check_project_role(f"project_roles[{i}]", role) for i, role in enumerate(args.get("project_roles") or [])
        ]
        if len(set(roles)) != len(roles):
            raise InvalidArgumentError(f"project_roles: {roles!r} lists a role twice; expected each role once")
        super().__init__(type_token("GcpWorkloadIdentity"), name, None, opts)

        namespace = pulumi.Output.from_input(args["namespace"])
        ksa = pulumi.Output.from_input(args["service_account"])
        gsa = serviceaccount.Account(
            name,
            account_id=account_id
            if account_id is not None
            else pulumi.Output.all(namespace, ksa).apply(lambda parts: gsa_account_id(parts[0], parts[1])),
            project=args["project"],
            display_name=pulumi.Output.concat("Workload Identity for ", namespace, "/", ksa),
            opts=child_opts(self),
        )
        # The member names the pool, which only exists once a Workload Identity cluster does
        # ("Identity Pool does not exist"): taking the pool from the cluster's output orders it.
        member = pulumi.Output.all(args["workload_pool"], namespace, ksa).apply(
            lambda parts: workload_identity_member(parts[0], parts[1], parts[2])
        )
        serviceaccount.IAMMember(
            f"{name}-workload-identity-user",
            service_account_id=gsa.name,
            role=WORKLOAD_IDENTITY_USER,
            member=member,
            opts=child_opts(self),
        )
        for role in roles:
            projects.IAMMember(
                f"{name}-{resource_suffix(role)}",
                project=args["project"],
                role=role,
                member=gsa.email.apply(lambda email: f"serviceAccount:{email}"),
                opts=child_opts(self),
            )

        self.email = gsa.email
        self.member = member
        self.register_outputs({"email": self.email, "member": self.member})
