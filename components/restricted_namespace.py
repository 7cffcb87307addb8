"""A namespace that enforces a Pod Security Standard (``restricted`` unless loosened on purpose)."""

from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components._common import (
    check_choice,
    check_dns1123_label,
    child_opts,
    metadata_field,
    type_token,
    when_plain,
)

POD_SECURITY_LEVELS = ("restricted", "baseline", "privileged")


class RestrictedNamespaceArgs(TypedDict):
    name: pulumi.Input[str]
    """Namespace name (a DNS-1123 label)."""
    pod_security_level: NotRequired[str]
    """Pod Security Standard enforced, audited and warned on: restricted (default), baseline or
    privileged. Anything but restricted loosens the namespace and should be a deliberate choice."""
    labels: NotRequired[pulumi.Input[dict[str, str]]]
    """Extra labels; the Pod Security labels always win."""


def pod_security_labels(level: str) -> dict[str, str]:
    """Labels that make the API server enforce, audit and warn on ``level`` at its latest version."""
    labels: dict[str, str] = {}
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = level
        labels[f"pod-security.kubernetes.io/{mode}-version"] = "latest"
    return labels


class RestrictedNamespace(pulumi.ComponentResource):
    """A Kubernetes namespace labelled for Pod Security admission."""

    name: pulumi.Output[str]
    """The namespace's name."""

    def __init__(self, name: str, args: RestrictedNamespaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        when_plain(args.get("name"), lambda v: check_dns1123_label("name", v))
        level = check_choice("pod_security_level", args.get("pod_security_level", "restricted"), POD_SECURITY_LEVELS)
        super().__init__(type_token("RestrictedNamespace"), name, None, opts)

        labels = pulumi.Output.from_input(args.get("labels") or {}).apply(
            lambda extra: {**extra, **pod_security_labels(level)}
        )
        self.namespace = k8s.core.v1.Namespace(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args["name"], labels=labels),
            opts=child_opts(self),
        )
        self.name = metadata_field(self.namespace.metadata, "name")
        self.register_outputs({"name": self.name})
