"""Where a stack's cluster comes from, and whose identities its accounts get: one module per cloud.

A :class:`Cloud` (GKE, EKS, AKS) declares everything about itself: the provider key it reads
(``gcp:project``, ``aws:region``, ``azure-native:location``), the ``keyless:<key>`` section of a
cluster the stack creates there, with the checks that span it and the model it reads into, how that
cluster is created and what it tells identity modes (:data:`keyless.identity.FACTS`), the issuer the
doctor expects of it, and how an existing cluster of the cloud is looked up and described
(:mod:`keyless.clouds.existing` asks it). The stack config, the program and the doctor ask the
registry; nothing else branches on a cloud's name. A cloud's module imports no provider SDK at
import time: ``create`` imports its components when it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from keyless.core import issuers
from keyless.core.problems import Problem
from keyless.core.spec import Field, Spec
from keyless.core.values import Rule

if TYPE_CHECKING:
    import pulumi


@dataclass
class Cluster:
    """What the rest of the program needs of a cluster, whoever created it."""

    issuer_url: pulumi.Output[str]
    kubernetes: pulumi.ProviderResource
    kubeconfig: pulumi.Output[str]
    name: pulumi.Output[str] | None = None
    """The name of a cluster this stack created (exported as clusterName)."""
    facts: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    """What identity modes may need of it (:data:`keyless.identity.FACTS`), as far as it is known."""


@dataclass(frozen=True)
class IssuerReference:
    """The issuer a stack registers: exact when its config determines it, else only its shape."""

    url: str | None
    """The exact URL, when known offline (GKE, an existing cluster's given issuer, --issuer-url)."""
    eks_region: str | None = None
    """EKS: the region; the issuer's id is known only once the cluster exists."""
    cloud: str | None = None
    """The managed cloud whose issuer this is, when only its shape is known (eks, aks)."""

    def shape_matches(self, iss: str) -> bool:
        if issuers.cloud_of(iss) != self.cloud or issuers.shape_reasons(iss):
            return False
        return self.cloud != "eks" or issuers.eks_region(iss) == self.eks_region


@dataclass(frozen=True)
class Lookup:
    """How an existing cluster of the cloud is looked up by ``keyless:existing.lookup.clusterName``."""

    fields: Mapping[str, Field]
    """Its own keys of ``keyless:existing.lookup`` (``clusterName`` is every cloud's)."""
    check: Callable[[str, Mapping[str, Any], Mapping[str, Any]], list[Problem]]
    """``(key of the lookup, the lookup, provider values)``: what else the lookup needs."""
    args: Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]
    """``ExistingCluster``'s lookup args under the cloud's key."""
    issuer: Callable[[Mapping[str, Any]], IssuerReference]
    """The issuer a looked-up cluster has, from those args."""


@dataclass(frozen=True)
class Existing:
    """What the cloud adds to a cluster someone else runs whose accounts get its identities."""

    fields: Mapping[str, Field] = field(default_factory=dict)
    """Its own keys of ``keyless:existing``."""
    check: Callable[[str, Mapping[str, Any], bool, Mapping[str, Any]], list[Problem]] | None = None
    """``(key of the section, the section, whether it has a lookup, provider values)``."""
    settings: Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]] | None = None
    """What it keeps of the section and the provider values for :attr:`facts`."""
    facts: Callable[[Mapping[str, Any], Any, Mapping[str, Any], frozenset[str]], dict[str, Any]] | None = None
    """``(its settings, the ExistingCluster, the lookup args, what the modes need)``: the cluster's facts."""


@dataclass(frozen=True)
class Cloud:
    key: str
    """``keyless:cloud``, ``keyless:existing.identityCloud`` and the ``keyless:<key>`` section."""
    title: str
    provider_key: str
    """The provider's own config key this cloud reads (``gcp:project``)."""
    provider_rule: Rule
    spec: Spec
    """The ``keyless:<key>`` section: a cluster this stack creates."""
    summary: str
    component: str
    """The component a cluster created here is, which documents the section's keys (``GkeCluster``)."""
    check: Callable[[Any, Mapping[str, Any]], list[Problem]]
    """``(the section as given, provider values)``: what spans the section and the provider's keys."""
    read: Callable[[Mapping[str, Any], Mapping[str, Any], Sequence[str]], Any]
    """``(the section with defaults, provider values, the accounts' identity modes)``: its model."""
    create: Callable[[Any, frozenset[str]], Cluster]
    """The cluster, from the model, with the facts the identity modes ``needs``."""
    issuer: Callable[[Any], IssuerReference]
    lookup: Lookup
    existing: Existing = field(default_factory=Existing)


_REGISTRY: dict[str, Cloud] = {}


def register(cloud: Cloud) -> Cloud:
    if cloud.key in _REGISTRY:
        raise ValueError(f"cloud {cloud.key!r} is registered twice")
    _REGISTRY[cloud.key] = cloud
    return cloud


def clouds() -> list[Cloud]:
    return list(_REGISTRY.values())


def get(key: str) -> Cloud:
    return _REGISTRY[key]


def find(key: Any) -> Cloud | None:
    """The cloud ``key`` names, if it names one (any value: it may come straight from the config)."""
    return _REGISTRY.get(key) if isinstance(key, str) else None


from keyless.clouds import aks, eks, gke  # noqa: E402

for _module in (gke, eks, aks):
    register(_module.CLOUD)

__all__ = [
    "Cloud",
    "Cluster",
    "Existing",
    "IssuerReference",
    "Lookup",
    "aks",
    "clouds",
    "eks",
    "find",
    "get",
    "gke",
    "register",
]
