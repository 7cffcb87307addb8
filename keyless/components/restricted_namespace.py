"""A namespace that enforces a Pod Security Standard (``restricted`` unless loosened on purpose)."""

from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from keyless.components._common import child_opts, lifted, metadata_field, validated
from keyless.core.kubernetes import RESTRICTED_NAMESPACE, PodSecurityLevel, pod_security_labels, recommended_labels
from keyless.core.naming import type_token


class RestrictedNamespaceArgs(TypedDict):
    name: pulumi.Input[str]
    """Namespace name (a DNS-1123 label)."""
    pod_security_level: NotRequired[PodSecurityLevel]
    """Pod Security Standard enforced, audited and warned on: restricted (default), baseline or
    privileged. Anything but restricted loosens the namespace and should be a deliberate choice."""
    labels: NotRequired[pulumi.Input[dict[str, str]]]
    """Extra labels; the Pod Security labels always win."""


class RestrictedNamespace(pulumi.ComponentResource):
    """A Kubernetes namespace labelled for Pod Security admission."""

    name: pulumi.Output[str]
    """The namespace's name."""

    def __init__(self, name: str, args: RestrictedNamespaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        checked = validated(RESTRICTED_NAMESPACE, args)
        super().__init__(type_token("RestrictedNamespace"), name, None, opts)

        level = checked["pod_security_level"]
        labels = lifted(
            lambda extra: {**recommended_labels(name, "namespace"), **extra, **pod_security_labels(level)},
            checked["labels"] or {},
        )
        self.namespace = k8s.core.v1.Namespace(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=checked["name"], labels=labels),
            opts=child_opts(self),
        )
        self.name = metadata_field(self.namespace.metadata, "name")
        self.register_outputs({"name": self.name})
