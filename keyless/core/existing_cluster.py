"""A cluster someone else runs: it is named by its issuer and a kubeconfig, or looked up on GKE, EKS or AKS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keyless.core.aws import EKS_LOOKUP
from keyless.core.azure import AKS_LOOKUP
from keyless.core.gcp import GKE_LOOKUP
from keyless.core.problems import MISSING, Problem
from keyless.core.pulumi_cloud import cluster_issuer_url
from keyless.core.spec import Field, Keys, Spec
from keyless.core.values import text


def _one_source(values: Mapping[str, Any], keys: Keys) -> list[Problem]:
    lookups = [name for name in ("gke", "eks", "aks") if values.get(name) is not None]
    if len(lookups) > 1:
        return [
            Problem(
                keys.here,
                MISSING,
                f"{' and '.join(keys.names(lookups))} were all given",
                "at most one cluster lookup",
            )
        ]
    problems = []
    if not lookups and values.get("issuer_url") is None:
        problems.append(
            Problem(
                keys.of("issuer_url"),
                MISSING,
                "missing",
                "the cluster's OIDC issuer URL, or a gke/eks/aks lookup that derives it",
            )
        )
    if not lookups and values.get("kubeconfig") is None:
        problems.append(
            Problem(
                keys.of("kubeconfig"),
                MISSING,
                "missing",
                "a kubeconfig for the cluster, or a gke/eks/aks lookup that builds one",
            )
        )
    return problems


EXISTING_CLUSTER = Spec(
    "ExistingCluster",
    {
        "issuer_url": Field(cluster_issuer_url),
        "kubeconfig": Field(text),
        "context": Field(text),
        "gke": Field(kind="object", spec=GKE_LOOKUP),
        "eks": Field(kind="object", spec=EKS_LOOKUP),
        "aks": Field(kind="object", spec=AKS_LOOKUP),
    },
    (_one_source,),
)
