"""GKE (``keyless:cloud: gke``): a cluster with Workload Identity, in the project ``gcp:project``
names by default; or an existing GKE cluster, looked up or named by its issuer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from keyless.clouds import Cloud, Cluster, Existing, IssuerReference, Lookup
from keyless.core import gcp
from keyless.core.problems import MISSING, Problem
from keyless.core.spec import Field

if TYPE_CHECKING:
    import pulumi

    from keyless.components.gke_cluster import GkeClusterArgs

PROJECT = "gcp:project"

SPEC = replace(
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
SPEC = replace(
    SPEC, fields={**SPEC.fields, "project": Field(gcp.project_id, doc=f"Google Cloud project (default: {PROJECT}).")}
)


def check(section: Any, values: Mapping[str, Any]) -> list[Problem]:
    problems = []
    if not isinstance(section, Mapping) or (section.get("project") is None and not values.get(PROJECT)):
        problems.append(Problem("keyless:gke.project", MISSING, f"missing; set it, or {PROJECT}"))
    if not isinstance(section, Mapping):
        problems.append(Problem("keyless:gke", MISSING, "missing", "the GKE cluster's location and clusterName"))
    return problems


def read(section: Mapping[str, Any], values: Mapping[str, Any], modes: Sequence[str]) -> GkeClusterArgs:
    """``GkeCluster`` args."""
    args: Any = {**section, "project": section.get("project") or values[PROJECT]}
    return args


def facts(project: str, needs: frozenset[str]) -> dict[str, Any]:
    """The project, and its number when a mode needs it (direct principals name it; looked up once)."""
    found: dict[str, Any] = {"gcp_project": project}
    if "project_number" in needs:
        from pulumi_gcp import organizations

        number = organizations.get_project_output(project_id=project).number
        found["project_number"] = number.apply(lambda n: str(n or ""))
    return found


def create(args: GkeClusterArgs, needs: frozenset[str]) -> Cluster:
    from keyless.components.gke_cluster import GkeCluster

    gke = GkeCluster("cluster", args)
    cluster = Cluster(gke.issuer_url, gke.kubernetes_provider, gke.kubeconfig, gke.cluster_name)
    cluster.facts.update(cluster_name=gke.cluster_name, workload_pool=gke.workload_pool)
    cluster.facts.update(facts(str(args["project"]), needs))
    return cluster


def issuer(args: Mapping[str, Any]) -> IssuerReference:
    """GKE issuers are built from their parts, known before the cluster exists."""
    return IssuerReference(gcp.gke_issuer_url(str(args["project"]), str(args["location"]), str(args["cluster_name"])))


def _lookup_check(here: str, lookup: Mapping[str, Any], values: Mapping[str, Any]) -> list[Problem]:
    problems = gcp.cluster_name(f"{here}.clusterName", lookup["cluster_name"])
    if lookup.get("location") is None:
        problems.append(
            Problem(f"{here}.location", MISSING, "missing; a GKE lookup needs the cluster's region or zone")
        )
    return problems


def _lookup_args(lookup: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "project": values.get(PROJECT) or "",
        "location": lookup.get("location") or "",
        "cluster_name": lookup["cluster_name"],
    }


def _existing_check(here: str, existing: Mapping[str, Any], lookup: bool, values: Mapping[str, Any]) -> list[Problem]:
    if values.get(PROJECT):
        return []
    return [Problem(PROJECT, MISSING, "missing; Workload Identity on an existing GKE cluster needs the project")]


def _existing_facts(
    settings: Mapping[str, Any], found: Any, lookup: Mapping[str, Any], needs: frozenset[str]
) -> dict[str, Any]:
    project = str(settings["gcp_project"])
    pool: pulumi.Output[str] = found.workload_pool.apply(lambda given: given or gcp.workload_pool(project))
    return {"workload_pool": pool, **facts(project, needs)}


CLOUD = Cloud(
    key="gke",
    title="GKE",
    provider_key=PROJECT,
    provider_rule=gcp.project_id,
    spec=SPEC,
    summary="cloud gke: the GKE cluster to create.",
    component="GkeCluster",
    check=check,
    read=read,
    create=create,
    issuer=issuer,
    lookup=Lookup(
        fields={"location": Field(gcp.location, doc="GKE: the cluster's region or zone.")},
        check=_lookup_check,
        args=_lookup_args,
        issuer=issuer,
    ),
    existing=Existing(
        check=_existing_check,
        settings=lambda existing, values: {"gcp_project": values.get(PROJECT)},
        facts=_existing_facts,
    ),
)
