"""The validated stack configuration; each part yields the arguments of the component it configures.

The program (``__main__.py``) only wires these arguments together; every rule about them lives
in :mod:`keyless.core`, and every key spelling in :mod:`keyless.config.sections`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from keyless import identity, kinds
from keyless.core import tenancy
from keyless.core.esc import environment_ref
from keyless.core.login_request import LoginRequest
from keyless.kinds import workloads
from keyless.kinds.workloads import Workload

if TYPE_CHECKING:  # the components' arg types, for type checking only: no provider SDK is loaded
    from keyless.components.aks_cluster import AksClusterArgs
    from keyless.components.eks_cluster import EksClusterArgs
    from keyless.components.eks_oidc_provider import EksOidcProviderArgs
    from keyless.components.existing_cluster import ExistingClusterArgs
    from keyless.components.gke_cluster import GkeClusterArgs
    from keyless.components.oidc_login_runner import OidcLoginRunnerArgs
    from keyless.components.pulumi_cloud_trust import PulumiCloudTrustArgs
    from keyless.components.restricted_namespace import RestrictedNamespaceArgs

Cloud = Literal["gke", "eks", "aks", "existing"]
IdentityCloud = Literal["gke", "eks", "aks", "none"]
E = TypeVar("E", bound=kinds.Entry)


@dataclass(frozen=True)
class IssuerConfig:
    name: str
    max_expiration_seconds: int
    pin_audience: bool = True


@dataclass(frozen=True)
class ExistingConfig:
    """A cluster someone else runs; ``cluster_args`` are the ``ExistingCluster`` args."""

    identity_cloud: IdentityCloud
    cluster_args: ExistingClusterArgs = field(repr=False)
    gcp_project: str | None = None
    oidc_provider_arn: str | None = None
    azure_resource_group: str | None = None
    """AKS: where the workloads' identities are created (the looked-up cluster's group, or the one given)."""
    azure_location: str | None = None
    """AKS: their region when no lookup gives the cluster's (azure-native:location)."""


@dataclass(frozen=True)
class EksConfig:
    cluster_args: EksClusterArgs
    """``EksCluster`` args."""
    oidc_provider_arn: str | None = None
    oidc_thumbprints: tuple[str, ...] | None = None

    def oidc_provider_args(self, issuer_url: Any) -> EksOidcProviderArgs:
        """``EksOidcProvider`` args."""
        args: EksOidcProviderArgs = {"issuer_url": issuer_url}
        if self.oidc_thumbprints is not None:
            args["thumbprints"] = list(self.oidc_thumbprints)
        return args


@dataclass(frozen=True)
class StackConfig:
    cloud: Cloud
    organization: str
    login_job: dict[str, Any]
    """``OidcLoginRunner`` args other than the workload's (namespace, account, token type)."""
    issuer: IssuerConfig
    entries: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    """Each kind's entries (:mod:`keyless.kinds`), by its key."""
    pod_security_level: str = "restricted"
    create_namespaces: bool = True
    gke: GkeClusterArgs | None = None
    """``GkeCluster`` args."""
    eks: EksConfig | None = None
    aks: AksClusterArgs | None = None
    """``AksCluster`` args."""
    existing: ExistingConfig | None = None
    warnings: tuple[str, ...] = ()
    """Deprecated keys in use, each naming its replacement."""

    @property
    def identity_cloud(self) -> IdentityCloud:
        return self.existing.identity_cloud if self.existing is not None else self.cloud  # type: ignore[return-value]

    @property
    def gcp_project(self) -> str | None:
        if self.gke is not None:
            return str(self.gke["project"])
        return self.existing.gcp_project if self.existing is not None else None

    def of(self, kind: kinds.Kind[E]) -> tuple[E, ...]:
        """The entries of ``kind``."""
        return self.entries.get(kind.key, ())

    @property
    def workloads(self) -> tuple[Workload, ...]:
        return self.of(workloads.KIND)

    def accounts(self) -> list[kinds.Account]:
        """Every service account the stack's entries own, in registry order."""
        return [account for kind in kinds.kinds() for entry in self.of(kind) for account in kind.accounts(entry)]

    def needs(self) -> frozenset[str]:
        """What the accounts' identity modes need of the cluster (:data:`keyless.identity.FACTS`)."""
        modes = [account.identity_mode for account in self.accounts() if account.identity_mode]
        return frozenset().union(*(identity.get(mode).needs for mode in modes))

    @property
    def login_workload(self) -> Workload | None:
        return workloads.login_workload(self.workloads)

    def _namespace_uses(self) -> list[kinds.NamespaceUse]:
        return [use for kind in kinds.kinds() for entry in self.of(kind) for use in kind.namespaces(entry)]

    def reserved_namespaces(self) -> dict[str, str]:
        """The namespaces that belong to the cluster or to a controller its entries rely on (→ whose)."""
        return tenancy.reserved(
            {ns: who for kind in kinds.kinds() for ns, who in kind.controllers(self.of(kind)).items()}
        )

    @property
    def namespaces(self) -> tuple[str, ...]:
        """The entries' namespaces this stack may create: a reserved one exists and is someone else's."""
        reserved = self.reserved_namespaces()
        return tuple(dict.fromkeys(use.name for use in self._namespace_uses() if use.name not in reserved))

    def namespace_args(self, name: str) -> RestrictedNamespaceArgs:
        """``RestrictedNamespace`` args: the stack's level, lowered where an entry in it needs it."""
        level = self.pod_security_level
        for use in self._namespace_uses():
            if use.name == name and use.pod_security_level is not None and level == "restricted":
                level = use.pod_security_level
        return cast("RestrictedNamespaceArgs", {"name": name, "pod_security_level": level})

    def policies(self) -> list[Mapping[str, Any]]:
        """Every issuer policy, as the config alone gives them (the doctor's view)."""
        return [policy for kind in kinds.kinds() for entry in self.of(kind) for policy in kind.policies(entry)]

    def trust_args(self, issuer_url: Any, policies: Sequence[Mapping[str, Any]] | None = None) -> PulumiCloudTrustArgs:
        """``PulumiCloudTrust`` args, with the ``policies`` the kinds made (default: :meth:`policies`)."""
        return {
            "organization": self.organization,
            "issuer_url": issuer_url,
            "issuer_name": self.issuer.name,
            "workloads": [cast(Any, dict(policy)) for policy in (self.policies() if policies is None else policies)],
            "max_expiration_seconds": self.issuer.max_expiration_seconds,
            "pin_audience": self.issuer.pin_audience,
        }

    def esc_environments(self) -> list[str]:
        """The ESC environments the login Job opens, as ``pulumi env open`` names them: the ones its
        workload names, and no other (its token is its workload's, not a store's)."""
        workload = self.login_workload
        named = [ref.split("/", 1) for ref in (workload.esc_environments if workload else ())]
        return [environment_ref(self.organization, project, env) for project, env in named]

    def login_request(self) -> LoginRequest:
        """What the login Job asks Pulumi Cloud for."""
        workload = self.login_workload
        assert workload is not None, "no workload runs the login Job"
        return LoginRequest.of(
            self.organization,
            workload.token_type,
            workload.policy.get("team_name"),
            workload.policy.get("user_login"),
            lifetime=self.login_job["exchanged_token_lifetime"],
            backend_url=self.login_job["backend_url"],
        )

    def login_job_args(self, namespace: Any, service_account_name: Any) -> OidcLoginRunnerArgs:
        """``OidcLoginRunner`` args for the workload marked ``runsLoginJob``."""
        workload = self.login_workload
        assert workload is not None, "no workload runs the login Job"
        args = {
            **self.login_job,
            **workload.login_flags(),
            "namespace": namespace,
            "service_account_name": service_account_name,
            "organization": self.organization,
        }
        environments = self.esc_environments()
        if environments:
            args["esc_environments"] = environments
        labels = workload.pod_labels()
        if labels:
            args["pod_labels"] = labels
        return cast("OidcLoginRunnerArgs", args)
