"""The stack config's keys: each section is its component's spec, spelt in camelCase.

A section reuses the component's :class:`~keyless.core.spec.Field` objects (rule, default, kind),
so a value the stack config accepts is exactly one the component accepts. Keys that exist only
in the stack config carry their documentation here; the others are documented on the
component's args and appear in the generated reference (``docs/configuration.md``).
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from functools import lru_cache

from keyless import kinds
from keyless.core import aws, azure, gcp, kubernetes, login_job, pulumi_cloud
from keyless.core.spec import Field, Spec, required
from keyless.core.values import boolean, choice, list_of, text

NAMESPACE = "keyless"
PREFIX = f"{NAMESPACE}:"


class Cloud(StrEnum):
    """Where the cluster comes from."""

    GKE = "gke"
    EKS = "eks"
    AKS = "aks"
    EXISTING = "existing"


class IdentityCloud(StrEnum):
    """Whose cloud identities an existing cluster's workloads get."""

    GKE = "gke"
    EKS = "eks"
    AKS = "aks"
    NONE = "none"


GKE = replace(
    gcp.GKE_CLUSTER.only(
        "project",
        "location",
        "cluster_name",
        "node_count",
        "machine_type",
        "release_channel",
        "deletion_protection",
        "enforce_network_policy",
    ),
    name="gke",
)
GKE = replace(
    GKE, fields={**GKE.fields, "project": Field(gcp.project_id, doc="Google Cloud project (default: gcp:project).")}
)

EKS = aws.EKS_CLUSTER.only(
    "cluster_name",
    "kubernetes_version",
    "subnet_ids",
    "instance_types",
    "desired_size",
    "min_size",
    "max_size",
    "deletion_protection",
    "enforce_network_policy",
).extend(
    "eks",
    {
        "oidc_provider_arn": Field(
            aws.oidc_provider_arn, doc="Reuse the cluster's IAM OIDC provider instead of creating one."
        ),
        "oidc_thumbprints": Field(
            list_of(aws.thumbprint),
            kind="list",
            doc="Pin the issuer CA's thumbprints (AWS verifies EKS issuers without).",
        ),
    },
)

AKS = azure.AKS_CLUSTER.only(
    "cluster_name",
    "resource_group_name",
    "kubernetes_version",
    "node_count",
    "vm_size",
    "disable_local_accounts",
    "admin_group_object_ids",
    "enforce_network_policy",
    "deletion_protection",
).extend(
    "aks", {"location": Field(azure.location, doc="Azure region of the cluster (default: azure-native:location).")}
)

LOOKUP = Spec(
    "lookup",
    {
        "cluster_name": Field(text, doc="Name of the cluster to look up (derives the issuer and a kubeconfig)."),
        "location": Field(gcp.location, doc="GKE: the cluster's region or zone."),
        "resource_group_name": Field(azure.resource_group_name, doc="AKS: the cluster's resource group."),
    },
)
EXISTING = Spec(
    "existing",
    {
        "identity_cloud": required(
            choice(IdentityCloud),
            doc="Cloud identities for the workloads: gke, eks, aks or none (Pulumi Cloud only).",
        ),
        "issuer_url": Field(
            pulumi_cloud.cluster_issuer_url, doc="The cluster's OIDC issuer, exactly as its tokens' iss."
        ),
        "context": Field(text, doc="Kubeconfig context to use (default: its current context)."),
        "lookup": Field(kind="object", spec=LOOKUP, doc="Look the cluster up on GKE, EKS or AKS."),
        "identity_resource_group": Field(
            azure.resource_group_name,
            doc="AKS without a lookup: the resource group the workloads' identities are created in "
            "(region: azure-native:location).",
        ),
        "oidc_provider_arn": Field(
            aws.oidc_provider_arn, doc="EKS: the cluster's IAM OIDC provider; omit to create one."
        ),
    },
)

LOGIN_JOB = replace(
    login_job.LOGIN_JOB.only(
        "image",
        "token_expiration_seconds",
        "exchanged_token_lifetime",
        "active_deadline_seconds",
        "await_timeout_seconds",
        "backend_url",
        "canary_schedule",
    ),
    name="loginJob",
    rules=(),
)

_TRUST = pulumi_cloud.PULUMI_CLOUD_TRUST.fields
ISSUER = Spec(
    "issuer",
    {
        "name": Field(text, doc="Display name of the issuer in Pulumi Cloud (default: <project>-<stack>)."),
        "max_expiration_seconds": _TRUST["max_expiration_seconds"],
        "pin_audience": _TRUST["pin_audience"],
    },
)


@lru_cache(maxsize=4)
def _stack(registry: tuple[str, ...]) -> Spec:
    return Spec(
        NAMESPACE,
        {
            "cloud": required(choice(Cloud), doc="Where the cluster comes from: gke, eks, aks or existing."),
            "organization": _TRUST["organization"],
            "pod_security_level": replace(
                kubernetes.RESTRICTED_NAMESPACE.fields["pod_security_level"],
                doc="Pod Security Standard of the namespaces this stack creates.",
            ),
            "create_namespaces": Field(
                boolean,
                True,
                "bool",
                doc="Create the workloads' namespaces; false on a cluster whose namespaces others own.",
            ),
            "gke": Field(kind="object", spec=GKE, doc="cloud gke: the GKE cluster to create."),
            "eks": Field(kind="object", spec=EKS, doc="cloud eks: the EKS cluster to create (region: aws:region)."),
            "aks": Field(kind="object", spec=AKS, doc="cloud aks: the AKS cluster to create."),
            "existing": Field(kind="object", spec=EXISTING, doc="cloud existing: the cluster someone else runs."),
            "kubeconfig": Field(text, doc="cloud existing: a kubeconfig for the cluster, set as a secret."),
            "login_job": Field(kind="object", spec=LOGIN_JOB, doc="The Job that proves the login on every pulumi up."),
            "issuer": Field(kind="object", spec=ISSUER, doc="The issuer registered in Pulumi Cloud."),
            **{
                kind.field_name: Field(kind="objects", spec=kind.spec(), default=(), doc=kind.summary)
                for kind in kinds.kinds()
            },
        },
    )


def stack() -> Spec:
    """Every ``keyless:*`` key of a stack, as its component specs spell them (each kind's section
    from the kind registry)."""
    return _stack(kinds.version())


DEPRECATED: dict[str, dict[str, str]] = {
    # section → {old key: new key}; the old keys work until 0.3.0 with a warning.
    "": {"runner": "loginJob"},
    "workloads[]": {"runner": "runsLoginJob"},
}
