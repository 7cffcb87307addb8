"""Google Cloud: the GKE cluster's shape and issuer, and Workload Identity names and members."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from keyless.core.spec import Field, Spec, required
from keyless.core.values import boolean, choice, dns1123_label, int_range, list_of, pattern, text

WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"
DEFAULT_MACHINE_TYPE = "e2-standard-2"
DEFAULT_NODE_COUNT = 1
DATAPLANE_V2 = "ADVANCED_DATAPATH"
"""GKE's datapath that enforces NetworkPolicy (the provider's default, LEGACY_DATAPATH, does not)."""


class ReleaseChannel(StrEnum):
    """GKE release channel of the control plane and nodes."""

    RAPID = "RAPID"
    REGULAR = "REGULAR"
    STABLE = "STABLE"
    EXTENDED = "EXTENDED"


project_role = pattern(
    r"roles/[A-Za-z0-9_.]+|projects/[^/]+/roles/[A-Za-z0-9_.]+|organizations/[0-9]+/roles/[A-Za-z0-9_.]+",
    "an IAM role",
    "'roles/NAME', 'projects/PROJECT/roles/NAME' or 'organizations/ID/roles/NAME'",
)
account_id = pattern(
    r"[a-z][-a-z0-9]{4,28}[a-z0-9]",
    "a service account id",
    "6-30 lower-case letters, digits and '-', starting with a letter",
)
cluster_name = pattern(
    r"[a-z][-a-z0-9]{0,39}",
    "a GKE cluster name",
    "1-40 lower-case letters, digits and '-', starting with a letter",
)


project_id = pattern(
    r"[a-z][-a-z0-9]{4,28}[a-z0-9]",
    "a Google Cloud project id",
    "6-30 lower-case letters, digits and '-', starting with a letter (the id, not the display name or number)",
)
location = pattern(
    r"[a-z]+-[a-z]+[0-9]+(-[a-z])?",
    "a Google Cloud region or zone",
    "a region such as 'us-central1' or a zone such as 'us-central1-a'",
)
machine_type = pattern(
    r"[a-z][a-z0-9]*(-[a-z0-9]+)+", "a Compute Engine machine type", "a type such as 'e2-standard-2'"
)
service_account_email = pattern(
    r"[a-z][-a-z0-9]{4,28}[a-z0-9]@[-a-z0-9.]+\.gserviceaccount\.com",
    "a service account e-mail",
    "'<id>@<project>.iam.gserviceaccount.com'",
)


project_number = pattern(r"[0-9]{6,19}", "a Google Cloud project number", "the project's number, all digits")


def direct_principal(number: str, pool: str, namespace: str, service_account: str) -> str:
    """The IAM principal of a Kubernetes service account itself (Workload Identity Federation
    for GKE without a Google service account); it needs the project *number*."""
    return (
        f"principal://iam.googleapis.com/projects/{number}/locations/global/workloadIdentityPools/{pool}"
        f"/subject/ns/{namespace}/sa/{service_account}"
    )


def workload_pool(project: str) -> str:
    return f"{project}.svc.id.goog"


def gke_issuer_url(project: str, location: str, name: str) -> str:
    """The ``iss`` claim of the cluster's service-account tokens.

    Built from its parts, because the cluster's ``self_link`` says ``zones/`` for a zonal
    cluster while its tokens always say ``locations/``.
    """
    return f"https://container.googleapis.com/v1/projects/{project}/locations/{location}/clusters/{name}"


def workload_identity_member(pool: str, namespace: str, service_account: str) -> str:
    """The IAM member naming one Kubernetes service account in a workload identity pool."""
    return f"serviceAccount:{pool}[{namespace}/{service_account}]"


def workload_identity_member_problems(member: Any) -> list[str]:
    """A workloadIdentityUser member must name one namespace/service account, never the whole pool."""
    if not isinstance(member, str):
        return []
    if member.startswith("principalSet://"):
        return [f"{member!r} grants the whole workload identity pool; name one serviceAccount:<pool>[ns/ksa]"]
    if member.startswith("serviceAccount:") and member.endswith("]") and "[" in member:
        inner = member[member.index("[") + 1 : -1]
        if "*" in inner or "/" not in inner:
            return [f"{member!r} does not name exactly one namespace/service account"]
    return []


_MEMBER = re.compile(r"^serviceAccount:(?P<pool>[^\[\]]+)\[(?P<ns>[^/\]]+)/(?P<sa>[^\]]+)\]$")
_PRINCIPAL = re.compile(
    r"^principal://iam\.googleapis\.com/projects/[^/]+/locations/global/workloadIdentityPools/(?P<pool>[^/]+)"
    r"/subject/ns/(?P<ns>[^/]+)/sa/(?P<sa>[^/]+)$"
)


def pool_subject(member: Any) -> tuple[str, str, str] | None:
    """The workload identity pool, namespace and service account an IAM member names, if it names
    one Kubernetes service account (through a Google service account or directly)."""
    if not isinstance(member, str):
        return None
    found = _MEMBER.match(member) or _PRINCIPAL.match(member)
    return None if found is None else (found["pool"], found["ns"], found["sa"])


def same_subject_in_other_clusters(grants: Sequence[tuple[str, str, str, str]]) -> list[str]:
    """``grants`` are (stack, pool, namespace, service account): a pool is the whole project's, so a
    namespace and account of the same name in another cluster of the project holds the same grants
    (Google calls it identity sameness). Each subject two stacks grant is reported once."""
    stacks: dict[tuple[str, str, str], list[str]] = {}
    for stack, pool, namespace, account in grants:
        holders = stacks.setdefault((pool, namespace, account), [])
        if stack not in holders:
            holders.append(stack)
    return [
        f"{namespace}/{account} in the pool {pool} is granted by the stacks {', '.join(holders)}: every cluster of "
        "the project with that namespace and account holds all their grants (identity sameness); give each "
        "trust domain a project of its own, or distinct namespaces"
        for (pool, namespace, account), holders in stacks.items()
        if len(holders) > 1
    ]


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


def gke_kubeconfig(context: str, endpoint: str, ca_certificate: str) -> str:
    """A kubeconfig authenticating through ``gke-gcloud-auth-plugin`` (no credential is embedded)."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": context,
                    "cluster": {"server": f"https://{endpoint}", "certificate-authority-data": ca_certificate},
                }
            ],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
            "current-context": context,
            "users": [
                {
                    "name": context,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "gke-gcloud-auth-plugin",
                            "provideClusterInfo": True,
                            "installHint": "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin",
                        }
                    },
                }
            ],
        },
        indent=2,
        sort_keys=True,
    )


def gke_context_name(project: str, location: str, name: str) -> str:
    """The context name gcloud gives a cluster, so both kubeconfigs agree."""
    return f"gke_{project}_{location}_{name}"


GKE_CLUSTER = Spec(
    "GkeCluster",
    {
        "project": required(project_id),
        "location": required(location),
        "cluster_name": required(cluster_name),
        "node_count": Field(int_range(1, 100), DEFAULT_NODE_COUNT, "int"),
        "machine_type": Field(machine_type, DEFAULT_MACHINE_TYPE),
        "release_channel": Field(choice(ReleaseChannel), ReleaseChannel.REGULAR.value),
        "deletion_protection": Field(boolean, True, "bool"),
        "enforce_network_policy": Field(boolean, True, "bool"),
        "node_service_account": Field(service_account_email),
        "network": Field(text),
        "subnetwork": Field(text),
    },
)


GCP_WORKLOAD_IDENTITY = Spec(
    "GcpWorkloadIdentity",
    {
        "project": required(project_id),
        "workload_pool": required(text),
        "namespace": required(dns1123_label),
        "service_account": required(dns1123_label),
        "account_id": Field(account_id),
        "project_roles": Field(list_of(project_role), (), "list"),
    },
)

GKE_WORKLOAD_PRINCIPAL = Spec(
    "GkeWorkloadPrincipal",
    {
        "project": required(project_id),
        "project_number": required(project_number),
        "workload_pool": required(text),
        "namespace": required(dns1123_label),
        "service_account": required(dns1123_label),
        "project_roles": Field(list_of(project_role), (), "list"),
    },
)

GKE_LOOKUP = Spec(
    "GkeClusterLookup",
    {"project": required(project_id), "location": required(location), "cluster_name": required(cluster_name)},
)
