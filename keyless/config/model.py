"""The validated stack configuration; each part yields the arguments of the component it configures.

The program (``__main__.py``) only wires these arguments together; every rule about them lives
in :mod:`keyless.core`, and every key spelling in :mod:`keyless.config.sections`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from keyless import identity
from keyless.core.esc import environment_ref, store_service_account, workload_policy
from keyless.core.login_request import LoginRequest
from keyless.core.naming import workload_resource_name
from keyless.core.runner import runner_policy, worker_service_account

if TYPE_CHECKING:  # the components' arg types, for type checking only: no provider SDK is loaded
    from keyless.components.aks_cluster import AksClusterArgs
    from keyless.components.eks_cluster import EksClusterArgs
    from keyless.components.eks_oidc_provider import EksOidcProviderArgs
    from keyless.components.existing_cluster import ExistingClusterArgs
    from keyless.components.gke_cluster import GkeClusterArgs
    from keyless.components.keyless_esc_store import KeylessEscStoreArgs
    from keyless.components.keyless_operator_stack import KeylessOperatorStackArgs
    from keyless.components.keyless_workflow_runner import KeylessWorkflowRunnerArgs
    from keyless.components.oidc_login_runner import OidcLoginRunnerArgs
    from keyless.components.pulumi_cloud_trust import PulumiCloudTrustArgs
    from keyless.components.restricted_namespace import RestrictedNamespaceArgs

Cloud = Literal["gke", "eks", "aks", "existing"]
IdentityCloud = Literal["gke", "eks", "aks", "none"]


POOL_STAND_IN = "pool-created-by-this-stack"
"""The runner id of a pool the stack creates, where its id is not needed (the doctor's policies)."""


@dataclass(frozen=True)
class WorkloadConfig:
    """One Kubernetes service account: its Pulumi Cloud policy and its cloud identity."""

    policy: dict[str, Any]
    """``WorkloadPolicy`` args: namespace, service_account, token_type and its companion."""
    runs_login_job: bool = False
    esc_environments: tuple[str, ...] = ()
    """ESC environments (``<project>/<environment>``) the login Job opens as this workload."""
    identity_mode: str | None = None
    """The name of its identity mode (:mod:`keyless.identity`); None without a cloud identity."""
    identity_settings: Mapping[str, Any] = field(default_factory=dict)
    """Its identity mode's own fields (snake_case, defaults filled in)."""
    earlier_resource_name: str | None = field(default=None, compare=False)
    """The name stacks deployed before the "." join gave this workload's resources (an alias)."""

    @property
    def namespace(self) -> str:
        return str(self.policy["namespace"])

    @property
    def service_account(self) -> str:
        return str(self.policy["service_account"])

    @property
    def token_type(self) -> str:
        return str(self.policy["token_type"])

    @property
    def resource_name(self) -> str:
        return workload_resource_name(self.namespace, self.service_account)

    def pod_labels(self) -> dict[str, str]:
        """Labels its identity mode needs on its pods (e.g. Azure's webhook selects pods by one)."""
        return dict(identity.get(self.identity_mode).pod_labels) if self.identity_mode else {}

    def login_flags(self) -> dict[str, Any]:
        """The login Job's token type and its team/user, as ``OidcLoginRunner`` args."""
        flags = {"token_type": self.token_type}
        for name in ("team_name", "user_login"):
            if self.policy.get(name) is not None:
                flags[name] = self.policy[name]
        return flags


@dataclass(frozen=True)
class RunnerConfig:
    """A workflow runner: its ``KeylessWorkflowRunner`` args but the organization, and the cloud
    identity of its worker (the account the workflow pods run as)."""

    args: dict[str, Any]
    identity_mode: str | None = None
    identity_settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return str(self.args["namespace"])

    @property
    def reference(self) -> str:
        """``<namespace>/<name>``: how the doctor and the program name it."""
        return f"{self.namespace}/{self.args['name']}"

    @property
    def worker(self) -> str:
        return worker_service_account(self.args["name"], self.args.get("worker_service_account"))

    @property
    def resource_name(self) -> str:
        return workload_resource_name(self.namespace, str(self.args["name"]))


@dataclass(frozen=True)
class IssuerConfig:
    name: str
    max_expiration_seconds: int
    pin_audience: bool = False


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
    workloads: tuple[WorkloadConfig, ...]
    login_job: dict[str, Any]
    """``OidcLoginRunner`` args other than the workload's (namespace, account, token type)."""
    issuer: IssuerConfig
    pod_security_level: str = "restricted"
    create_namespaces: bool = True
    gke: GkeClusterArgs | None = None
    """``GkeCluster`` args."""
    eks: EksConfig | None = None
    aks: AksClusterArgs | None = None
    """``AksCluster`` args."""
    existing: ExistingConfig | None = None
    operator_stacks: tuple[dict[str, Any], ...] = ()
    """Each Operator stack's config: its ``workload`` (namespace/serviceAccount) and its Stack's fields."""
    esc_stores: tuple[dict[str, Any], ...] = ()
    """``KeylessEscStore`` args of each ESC store, but its organization (see :meth:`esc_store_args`)."""
    workflow_runners: tuple[RunnerConfig, ...] = ()
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

    def needs(self) -> frozenset[str]:
        """What the workloads' identity modes need of the cluster (:data:`keyless.identity.FACTS`)."""
        owners: list[WorkloadConfig | RunnerConfig] = [*self.workloads, *self.workflow_runners]
        modes = [owner.identity_mode for owner in owners if owner.identity_mode]
        return frozenset().union(*(identity.get(mode).needs for mode in modes))

    @property
    def login_workload(self) -> WorkloadConfig | None:
        return next((w for w in self.workloads if w.runs_login_job), None)

    @property
    def namespaces(self) -> tuple[str, ...]:
        return tuple(
            dict.fromkeys(
                [
                    *(w.namespace for w in self.workloads),
                    *(s["namespace"] for s in self.esc_stores),
                    *(r.namespace for r in self.workflow_runners),
                ]
            )
        )

    def workload_named(self, reference: str) -> WorkloadConfig:
        """The workload a ``<namespace>/<serviceAccount>`` reference names (the config checked it exists)."""
        return next(w for w in self.workloads if f"{w.namespace}/{w.service_account}" == reference)

    def operator_stack_args(self, entry: dict[str, Any]) -> KeylessOperatorStackArgs:
        """``KeylessOperatorStack`` args: the Stack's fields, and its workload's account and token."""
        workload = self.workload_named(entry["workload"])
        fields = {key: value for key, value in entry.items() if key != "workload" and value is not None}
        return cast(
            "KeylessOperatorStackArgs",
            {
                **fields,
                **workload.login_flags(),
                "namespace": workload.namespace,
                "service_account_name": workload.service_account,
                "organization": self.organization,
                **({"pod_labels": workload.pod_labels()} if workload.pod_labels() else {}),
            },
        )

    def esc_store_args(self, store: dict[str, Any]) -> KeylessEscStoreArgs:
        """``KeylessEscStore`` args."""
        return cast("KeylessEscStoreArgs", {**store, "organization": self.organization})

    def workflow_runner_args(
        self, runner: RunnerConfig, worker_annotations: Mapping[str, Any] | None = None
    ) -> KeylessWorkflowRunnerArgs:
        """``KeylessWorkflowRunner`` args; ``worker_annotations`` are its worker's identity's."""
        args = {key: value for key, value in runner.args.items() if value is not None}
        if worker_annotations:
            args["worker_annotations"] = dict(worker_annotations)
        return cast("KeylessWorkflowRunnerArgs", {**args, "organization": self.organization})

    def esc_environments(self) -> list[str]:
        """The ESC environments the login Job opens, as ``pulumi env open`` names them: its workload's,
        then the stores'."""
        workload = self.login_workload
        named = [tuple(ref.split("/", 1)) for ref in (workload.esc_environments if workload else ())]
        named += [(s["project"], s["environment"]) for s in self.esc_stores]
        return list(dict.fromkeys(environment_ref(self.organization, project, env) for project, env in named))

    def namespace_args(self, name: str) -> RestrictedNamespaceArgs:
        """``RestrictedNamespace`` args."""
        level = self.pod_security_level
        if level == "restricted" and name in {r.namespace for r in self.workflow_runners}:
            # The agent starts its workflow pods from its own pod spec, which sets no security
            # context: the restricted standard would refuse every one. The namespace is the runner's alone.
            level = "baseline"
        return cast("RestrictedNamespaceArgs", {"name": name, "pod_security_level": level})

    def trust_args(self, issuer_url: Any, runner_pools: Mapping[str, Any] | None = None) -> PulumiCloudTrustArgs:
        """``PulumiCloudTrust`` args. ``runner_pools`` gives each runner's pool id by its reference
        (a pool created by the stack is known only once created); without it, a created pool is
        named by a stand-in, which is all the doctor needs."""
        pools = runner_pools or {}
        runners = [
            runner_policy(
                r.namespace, str(r.args["name"]), pools.get(r.reference) or r.args.get("pool_id") or POOL_STAND_IN
            )
            for r in self.workflow_runners
        ]
        return {
            "organization": self.organization,
            "issuer_url": issuer_url,
            "issuer_name": self.issuer.name,
            "workloads": [
                *(cast(Any, dict(workload.policy)) for workload in self.workloads),
                *(cast(Any, esc_policy(s)) for s in self.esc_stores),
                *(cast(Any, policy) for policy in runners),
            ],
            "max_expiration_seconds": self.issuer.max_expiration_seconds,
            "pin_audience": self.issuer.pin_audience,
        }

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


def esc_policy(store: dict[str, Any]) -> dict[str, Any]:
    """The issuer policy an ESC store's service account needs."""
    account = store_service_account(store["name"], store.get("service_account"))
    return workload_policy(store["namespace"], account, store["role_id"])
