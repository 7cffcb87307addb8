"""AKS (``keyless:cloud: aks``): a cluster with its OIDC issuer and Entra Workload ID on, in the
region ``azure-native:location`` names by default; or an existing AKS cluster, looked up (name and
resource group) or named by its issuer, its accounts' identities in a resource group given."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from keyless.clouds import Cloud, Cluster, Existing, IssuerReference, Lookup
from keyless.core import azure
from keyless.core.problems import MISSING, Problem
from keyless.core.spec import Field

if TYPE_CHECKING:
    from keyless.components.aks_cluster import AksClusterArgs

LOCATION = "azure-native:location"

SPEC = azure.AKS_CLUSTER.only(
    "cluster_name",
    "resource_group_name",
    "kubernetes_version",
    "node_count",
    "vm_size",
    "disable_local_accounts",
    "admin_group_object_ids",
    "enforce_network_policy",
    "deletion_protection",
).extend("aks", {"location": Field(azure.location, doc=f"Azure region of the cluster (default: {LOCATION}).")})


def check(section: Any, values: Mapping[str, Any]) -> list[Problem]:
    if not isinstance(section, Mapping):
        return [Problem("keyless:aks", MISSING, "missing", "the AKS cluster's clusterName and location")]
    if section.get("location") is None and not values.get(LOCATION):
        return [Problem("keyless:aks.location", MISSING, f"missing; set it, or {LOCATION}")]
    return []


def read(section: Mapping[str, Any], values: Mapping[str, Any], modes: Sequence[str]) -> AksClusterArgs:
    """``AksCluster`` args."""
    found = {**section, "location": section.get("location") or values[LOCATION]}
    return {key: value for key, value in found.items() if value is not None}  # type: ignore[return-value]


def create(args: AksClusterArgs, needs: frozenset[str]) -> Cluster:
    from keyless.components.aks_cluster import AksCluster

    aks = AksCluster("cluster", args)
    cluster = Cluster(aks.issuer_url, aks.kubernetes_provider, aks.kubeconfig, aks.cluster_name)
    cluster.facts.update(azure_resource_group=aks.resource_group_name, azure_location=aks.location)
    return cluster


def issuer(_: Any) -> IssuerReference:
    """AKS writes a new GUID into each cluster's issuer: only its shape is known."""
    return IssuerReference(None, cloud="aks")


def _lookup_check(here: str, lookup: Mapping[str, Any], values: Mapping[str, Any]) -> list[Problem]:
    problems = azure.cluster_name(f"{here}.clusterName", lookup["cluster_name"])
    if lookup.get("resource_group_name") is None:
        problems.append(
            Problem(f"{here}.resourceGroupName", MISSING, "missing; an AKS lookup needs the cluster's group")
        )
    return problems


def _existing_check(here: str, existing: Mapping[str, Any], lookup: bool, values: Mapping[str, Any]) -> list[Problem]:
    if lookup:
        return []
    problems = []
    if existing.get("identity_resource_group") is None:
        problems.append(
            Problem(
                f"{here}.identityResourceGroup",
                MISSING,
                "missing; without a lookup, the resource group for the workloads' identities",
                f"a resource group, or {here}.lookup.clusterName and resourceGroupName",
            )
        )
    if not values.get(LOCATION):
        problems.append(Problem(LOCATION, MISSING, "missing; the region of the workloads' identities"))
    return problems


def _existing_settings(existing: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Where the workloads' identities go: the looked-up cluster's group, or the one given."""
    lookup = existing.get("lookup") or {}
    return {
        "azure_resource_group": lookup.get("resource_group_name") or existing.get("identity_resource_group"),
        "azure_location": values.get(LOCATION),
    }


def _existing_facts(
    settings: Mapping[str, Any], found: Any, lookup: Mapping[str, Any], needs: frozenset[str]
) -> dict[str, Any]:
    location = str(settings["azure_location"])
    return {
        "azure_resource_group": str(settings["azure_resource_group"]),
        "azure_location": found.location.apply(lambda found_location: found_location or location),
    }


CLOUD = Cloud(
    key="aks",
    title="AKS",
    provider_key=LOCATION,
    provider_rule=azure.location,
    spec=SPEC,
    summary="cloud aks: the AKS cluster to create.",
    component="AksCluster",
    check=check,
    read=read,
    create=create,
    issuer=issuer,
    lookup=Lookup(
        fields={"resource_group_name": Field(azure.resource_group_name, doc="AKS: the cluster's resource group.")},
        check=_lookup_check,
        args=lambda lookup, values: {
            "cluster_name": lookup["cluster_name"],
            "resource_group_name": lookup["resource_group_name"],
        },
        issuer=issuer,
    ),
    existing=Existing(
        fields={
            "identity_resource_group": Field(
                azure.resource_group_name,
                doc="AKS without a lookup: the resource group the workloads' identities are created in "
                f"(region: {LOCATION}).",
            )
        },
        check=_existing_check,
        settings=_existing_settings,
        facts=_existing_facts,
    ),
)
