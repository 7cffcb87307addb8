"""A Kubernetes ServiceAccount annotated with the cloud identity its pods act as."""

from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components._common import (
    InvalidArgumentError,
    check_dns1123_label,
    child_opts,
    metadata_field,
    type_token,
    when_plain,
)

GKE_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account"
EKS_IDENTITY_ANNOTATION = "eks.amazonaws.com/role-arn"


class WorkloadServiceAccountArgs(TypedDict):
    namespace: pulumi.Input[str]
    """Namespace of the service account (it must exist, or be created before)."""
    name: pulumi.Input[str]
    """Service account name (a DNS-1123 label)."""
    gcp_service_account_email: NotRequired[pulumi.Input[str]]
    """GKE Workload Identity: the Google service account the pods impersonate."""
    aws_role_arn: NotRequired[pulumi.Input[str]]
    """EKS IRSA: the IAM role the pods assume."""


def identity_annotations(
    gcp_service_account_email: pulumi.Input[str] | None = None,
    aws_role_arn: pulumi.Input[str] | None = None,
) -> dict[str, pulumi.Input[str]]:
    """The annotation binding a service account to at most one cloud identity."""
    if gcp_service_account_email is not None and aws_role_arn is not None:
        raise InvalidArgumentError(
            "gcp_service_account_email and aws_role_arn were both given; expected at most one: "
            "a service account acts as one cloud identity"
        )
    if gcp_service_account_email is not None:
        return {GKE_IDENTITY_ANNOTATION: gcp_service_account_email}
    if aws_role_arn is not None:
        return {EKS_IDENTITY_ANNOTATION: aws_role_arn}
    return {}


class WorkloadServiceAccount(pulumi.ComponentResource):
    """ServiceAccount for one workload, with the API token automount switched off.

    Pods that need a token mount a projected one with an explicit audience instead.
    """

    name: pulumi.Output[str]
    """The service account's name."""
    namespace: pulumi.Output[str]
    """The service account's namespace."""

    def __init__(self, name: str, args: WorkloadServiceAccountArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        when_plain(args.get("namespace"), lambda v: check_dns1123_label("namespace", v))
        when_plain(args.get("name"), lambda v: check_dns1123_label("name", v))
        annotations = identity_annotations(args.get("gcp_service_account_email"), args.get("aws_role_arn"))
        super().__init__(type_token("WorkloadServiceAccount"), name, None, opts)

        self.service_account = k8s.core.v1.ServiceAccount(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args["name"], namespace=args["namespace"], annotations=annotations or None
            ),
            automount_service_account_token=False,
            opts=child_opts(self),
        )
        self.name = metadata_field(self.service_account.metadata, "name")
        self.namespace = metadata_field(self.service_account.metadata, "namespace")
        self.register_outputs({"name": self.name, "namespace": self.namespace})
