"""How a workload gets its cloud credentials: identity modes, one module each, in one registry.

A :class:`Mode` declares everything about itself: the clouds it serves (and where it is the
default), its own ``keyless:workloads[]`` fields, what it needs of the cluster, what it adds to a
created cluster, the component it creates (returning the ServiceAccount annotations it adds and the
``cloudIdentity`` output), its rows in the access map, the cloud token its pods also carry (for the
doctor) and the guardrails that check it. The stack config, the program, the access map and the
doctor ask the registry; nothing else names a mode.

    EKS  irsa               an IAM role trusting the cluster's OIDC provider; the ServiceAccount is annotated
         podIdentity        an IAM role trusting pods.eks.amazonaws.com, bound by a Pod Identity association
    GKE  gcpServiceAccount  a Google service account the ServiceAccount impersonates (annotated)
         direct             project roles granted to the ServiceAccount's own principal
    AKS  azureWorkloadIdentity  a user-assigned identity trusting the account (annotated; its pods labelled)

Adding a mode is a module that calls :func:`register` (imported below for the built-in ones), its
tests and its docs. A mode's module imports no provider SDK at import time: the stack config and
the doctor read the registry without one; ``create`` imports its component when it runs.
Pulumi Cloud login is the same in every mode: the cluster's issuer and the projected token.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from keyless.core.spec import Field

if TYPE_CHECKING:
    import pulumi

    from keyless.core.problems import Problem
    from keyless.record import Registration

FACTS = {
    "issuer_url": "the cluster's OIDC issuer",
    "oidc_provider_arn": "the cluster's IAM OIDC provider (created or given)",
    "cluster_name": "the cluster's name",
    "cluster_arn": "the cluster's ARN",
    "workload_pool": "the cluster's Workload Identity pool",
    "gcp_project": "the Google Cloud project",
    "project_number": "the Google Cloud project's number (looked up once per stack)",
    "azure_resource_group": "the resource group for Azure identities (the cluster's)",
    "azure_location": "the Azure region for identities (the cluster's)",
}
"""What a mode may need of the cluster, by name."""

LOOKUP_FACTS = frozenset({"cluster_name", "cluster_arn"})
"""Facts of a cluster someone else runs that only a lookup gives (an issuer and kubeconfig do not)."""


@dataclass(frozen=True)
class Peer:
    """A service account of the stack whose identity comes from the same mode."""

    namespace: str
    service_account: str
    settings: Mapping[str, Any]


@dataclass(frozen=True)
class Binding:
    """What a mode is given to create one workload's cloud identity."""

    name: str
    """The workload's resource name (``<namespace>.<service account>``)."""
    namespace: str
    service_account: str
    settings: Mapping[str, Any]
    """The mode's own fields of the workload, defaults filled in (snake_case)."""
    cluster: Mapping[str, Any]
    """The facts the mode needs (:data:`FACTS`), as Inputs."""
    earlier_name: str | None = None
    """The name stacks deployed before the "." join gave the workload's resources."""
    peers: tuple[Peer, ...] = ()
    """Every service account of the stack with this mode, this one included (for identities
    several of them share)."""
    shared: dict[str, Any] = field(default_factory=dict)
    """What the mode keeps across the bindings of one program run (an identity already created)."""

    def options(self, component: str) -> pulumi.ResourceOptions:
        """Options for the mode's component (type ``keyless:index:<component>``): its earlier name
        is an alias, so a stack deployed before the rename moves it instead of replacing it."""
        import pulumi

        from keyless.components._common import stack_aliases

        return pulumi.ResourceOptions(aliases=stack_aliases(component, self.earlier_name))


@dataclass(frozen=True)
class Created:
    """What a mode created: what the workload acts as, and what its ServiceAccount must say."""

    identity: pulumi.Input[str]
    annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)


CheckAll = Callable[[Sequence[tuple[str, Peer]]], list["Problem"]]
"""A rule over every service account with the mode, each with its config key (e.g. a limit per
shared identity)."""


@dataclass(frozen=True)
class Access:
    """A workload's cloud identity as the access map shows it, and what it is granted."""

    identity: str
    grants: tuple[str, ...] = ()


Describe = Callable[[Sequence["Registration"]], dict[tuple[str, str], Access]]


@dataclass(frozen=True)
class Mode:
    name: str
    """The value of ``keyless:workloads[].identityMode``."""
    summary: str
    clouds: tuple[str, ...]
    """Identity clouds it serves (gke, eks, ...)."""
    create: Callable[[Binding], Created]
    describe: Describe
    """Its workloads' rows in the access map, read from what a stack registered."""
    default_on: tuple[str, ...] = ()
    """Clouds where a workload without an identityMode gets this one."""
    fields: Mapping[str, Field] = field(default_factory=dict)
    """Its workload fields (snake_case); a field several modes share is one Field object."""
    needs: frozenset[str] = frozenset()
    """Facts of the cluster it needs (:data:`FACTS`)."""
    cluster_args: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """What it adds to the args of a cluster this project creates, per cloud."""
    cloud_token_audience: str | None = None
    """The audience of a cloud token its pods also carry: a token for the cloud, not Pulumi Cloud."""
    guardrails: tuple[str, ...] = ()
    """Names of the policies that check what it creates."""
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    """Labels the pods of its workloads must carry for the identity to reach them (its webhook
    selects pods, not accounts); pods this project does not start cannot get them."""
    check_all: CheckAll | None = None
    credential_endpoint: str | None = None
    """The node-local endpoint its pods get their cloud credentials from, by name
    (:data:`keyless.core.kubernetes.CREDENTIAL_ENDPOINTS`); None when a token file does (IRSA, Entra)."""


_REGISTRY: dict[str, Mode] = {}


def register(mode: Mode) -> Mode:
    """Add ``mode`` to the registry (a name registered twice is a programming error)."""
    if mode.name in _REGISTRY:
        raise ValueError(f"identity mode {mode.name!r} is registered twice")
    _REGISTRY[mode.name] = mode
    return mode


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def modes() -> list[Mode]:
    return list(_REGISTRY.values())


def get(name: str) -> Mode:
    return _REGISTRY[name]


def offered(cloud: str | None) -> list[Mode]:
    """The modes an identity cloud offers, its default first."""
    serving = [mode for mode in _REGISTRY.values() if cloud in mode.clouds]
    return sorted(serving, key=lambda mode: cloud not in mode.default_on)


def default(cloud: str | None) -> Mode | None:
    return next((mode for mode in offered(cloud) if cloud in mode.default_on), None)


def fields() -> dict[str, Field]:
    """Every mode's workload fields, each once."""
    found: dict[str, Field] = {}
    for mode in _REGISTRY.values():
        found.update(mode.fields)
    return found


def declaring(name: str) -> list[str]:
    """The modes that take the workload field ``name``."""
    return [mode.name for mode in _REGISTRY.values() if name in mode.fields]


def version() -> tuple[str, ...]:
    """Changes whenever the registry does (what depends on it is rebuilt)."""
    return tuple(_REGISTRY)


from keyless.identity import (  # noqa: E402  (they register)
    azure_workload_identity,
    direct,
    gcp_service_account,
    irsa,
    pod_identity,
)

__all__ = [
    "FACTS",
    "LOOKUP_FACTS",
    "Access",
    "Binding",
    "Created",
    "Mode",
    "Peer",
    "azure_workload_identity",
    "declaring",
    "default",
    "direct",
    "fields",
    "gcp_service_account",
    "get",
    "irsa",
    "modes",
    "offered",
    "pod_identity",
    "register",
    "unregister",
    "version",
]
