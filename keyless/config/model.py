"""The validated stack configuration; each part yields the arguments of the component it configures.

The program (``__main__.py``) only wires these arguments together; every rule about them lives
in :mod:`keyless.core`, and every key spelling in :mod:`keyless.config.sections`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from keyless import clouds, identity, kinds
from keyless.clouds import existing
from keyless.core import tenancy
from keyless.core.esc import environment_ref
from keyless.core.login_request import LoginRequest
from keyless.kinds import workloads
from keyless.kinds.workloads import Workload

if TYPE_CHECKING:  # the components' arg types, for type checking only: no provider SDK is loaded
    from keyless.components.oidc_login_job import OidcLoginJobArgs
    from keyless.components.pulumi_cloud_trust import PulumiCloudTrustArgs
    from keyless.components.restricted_namespace import RestrictedNamespaceArgs


class Source(Protocol):
    """What a cluster's source does with its model: a cloud's module, or an existing cluster's."""

    def create(self, model: Any, needs: frozenset[str], /) -> clouds.Cluster: ...

    def issuer(self, model: Any, /) -> clouds.IssuerReference: ...


E = TypeVar("E", bound=kinds.Entry)


@dataclass(frozen=True)
class IssuerConfig:
    name: str
    max_expiration_seconds: int
    pin_audience: bool = True


@dataclass(frozen=True)
class StackConfig:
    cloud: str
    organization: str
    login_job: dict[str, Any]
    """``OidcLoginJob`` args other than the workload's (namespace, account, token type)."""
    issuer: IssuerConfig
    entries: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    """Each kind's entries (:mod:`keyless.kinds`), by its key."""
    cluster: Any = None
    """The cluster's model, as its source reads it (:attr:`keyless.clouds.Cloud.read`,
    :func:`keyless.clouds.existing.read`)."""
    pod_security_level: str = "restricted"
    create_namespaces: bool = True
    warnings: tuple[str, ...] = ()
    """Deprecated keys in use, each naming its replacement."""

    @property
    def source(self) -> Source:
        """Where the cluster comes from: a cloud's module, or an existing cluster's."""
        return existing if self.cloud == existing.KEY else clouds.get(self.cloud)

    @property
    def identity_cloud(self) -> str:
        return str(self.cluster.identity_cloud) if self.cloud == existing.KEY else self.cloud

    def create_cluster(self) -> clouds.Cluster:
        """The cluster (created here, or found), with what its accounts' identity modes need of it."""
        cluster = self.source.create(self.cluster, self.needs())
        cluster.facts["issuer_url"] = cluster.issuer_url
        return cluster

    def issuer_reference(self) -> clouds.IssuerReference:
        """The issuer the stack registers, as far as its config determines it."""
        return self.source.issuer(self.cluster)

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

    def login_job_args(self, namespace: Any, service_account_name: Any) -> OidcLoginJobArgs:
        """``OidcLoginJob`` args for the workload marked ``runsLoginJob``."""
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
        return cast("OidcLoginJobArgs", args)
