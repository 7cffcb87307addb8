"""A Kubernetes ServiceAccount annotated with the cloud identity its pods act as."""

from collections.abc import Mapping
from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from keyless.components._common import child_opts, metadata_field, validated
from keyless.core.kubernetes import WORKLOAD_SERVICE_ACCOUNT, identity_annotations, recommended_labels
from keyless.core.naming import type_token


class WorkloadServiceAccountArgs(TypedDict):
    namespace: pulumi.Input[str]
    """Namespace of the service account (it must exist, or be created before)."""
    name: pulumi.Input[str]
    """Service account name (a DNS-1123 label)."""
    gcp_service_account_email: NotRequired[pulumi.Input[str]]
    """GKE Workload Identity: the Google service account the pods impersonate."""
    aws_role_arn: NotRequired[pulumi.Input[str]]
    """EKS IRSA: the IAM role the pods assume."""
    annotations: NotRequired[Mapping[str, pulumi.Input[str]]]
    """Other annotations an identity needs on the service account (e.g. Azure's client id)."""
    allow_reserved_namespace: NotRequired[bool]
    """Let it live in a reserved namespace (kube-system, kube-public, kube-node-lease, default),
    accepting that whoever may run pods there could act as its accounts (default false)."""


class WorkloadServiceAccount(pulumi.ComponentResource):
    """ServiceAccount for one workload, with the API token automount switched off.

    Pods that need a token mount a projected one with an explicit audience instead.
    """

    name: pulumi.Output[str]
    """The service account's name."""
    namespace: pulumi.Output[str]
    """The service account's namespace."""

    def __init__(self, name: str, args: WorkloadServiceAccountArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        checked = validated(WORKLOAD_SERVICE_ACCOUNT, args)
        super().__init__(type_token("WorkloadServiceAccount"), name, None, opts)

        annotations = {
            **identity_annotations(checked["gcp_service_account_email"], checked["aws_role_arn"]),
            **(checked["annotations"] or {}),
        }
        self.service_account = k8s.core.v1.ServiceAccount(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=checked["name"],
                namespace=checked["namespace"],
                labels=recommended_labels(name, "service-account"),
                annotations=annotations or None,
            ),
            automount_service_account_token=False,
            opts=child_opts(self),
        )
        self.name = metadata_field(self.service_account.metadata, "name")
        self.namespace = metadata_field(self.service_account.metadata, "namespace")
        self.register_outputs({"name": self.name, "namespace": self.namespace})
