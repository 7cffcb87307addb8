"""Keyless access from Kubernetes workloads to Pulumi Cloud and to their cloud account.

    config ─▶ cluster ─▶ per workload: namespace, cloud identity, ServiceAccount
                    ├──▶ per Operator stack: a Stack whose workspace logs in as its workload
                    ├──▶ per ESC store: its ServiceAccount, RBAC, store and ExternalSecrets
                    ├──▶ per workflow runner: its pool, agents, RBAC, and a worker with a cloud identity
                    └──▶ Pulumi Cloud trust (issuer + one policy per workload, store and runner) ─▶ login Job

The stack config is validated as a whole before any resource is registered; every rule lives in
``keyless.core``, each identity mode in ``keyless.identity``, and each cloud's SDK is imported
only by the stacks that use that cloud.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi

from keyless import identity
from keyless.components._common import stack_aliases
from keyless.components.oidc_login_runner import OidcLoginRunner
from keyless.components.pulumi_cloud_trust import PulumiCloudTrust
from keyless.components.restricted_namespace import RestrictedNamespace
from keyless.components.workload_service_account import WorkloadServiceAccount, WorkloadServiceAccountArgs
from keyless.config import RunnerConfig, StackConfig, WorkloadConfig, from_runtime, parse
from keyless.core.gcp import workload_pool
from keyless.core.naming import workload_resource_name

if TYPE_CHECKING:
    from keyless.components.eks_oidc_provider import EksOidcProviderArgs

LOGIN_JOB = "oidc-login"
"""The login Job's resource name (and its pods' app.kubernetes.io/instance label)."""


@dataclass
class Cluster:
    """What the rest of the program needs of a cluster, whoever created it."""

    issuer_url: pulumi.Output[str]
    kubernetes: pulumi.ProviderResource
    kubeconfig: pulumi.Output[str]
    name: pulumi.Output[str] | None = None
    """The name of a cluster this stack created (exported as clusterName)."""
    facts: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    """What identity modes may need of it (keyless.identity.FACTS), as far as it is known."""


def create_cluster(config: StackConfig) -> Cluster:
    needs = config.needs()
    if config.gke is not None:
        from keyless.components.gke_cluster import GkeCluster

        gke = GkeCluster("cluster", config.gke)
        cluster = Cluster(gke.issuer_url, gke.kubernetes_provider, gke.kubeconfig, gke.cluster_name)
        cluster.facts.update(cluster_name=gke.cluster_name, workload_pool=gke.workload_pool)
    elif config.aks is not None:
        from keyless.components.aks_cluster import AksCluster

        aks = AksCluster("cluster", config.aks)
        cluster = Cluster(aks.issuer_url, aks.kubernetes_provider, aks.kubeconfig, aks.cluster_name)
        cluster.facts.update(azure_resource_group=aks.resource_group_name, azure_location=aks.location)
    elif config.eks is not None:
        from keyless.components.eks_cluster import EksCluster

        eks = EksCluster("cluster", config.eks.cluster_args)
        cluster = Cluster(eks.issuer_url, eks.kubernetes_provider, eks.kubeconfig, eks.cluster_name)
        cluster.facts.update(cluster_name=eks.cluster_name, cluster_arn=eks.cluster_arn)
        if "oidc_provider_arn" in needs:
            cluster.facts["oidc_provider_arn"] = oidc_provider_arn(
                eks.issuer_url, config.eks.oidc_provider_arn, config.eks.oidc_provider_args
            )
    else:
        cluster = existing_cluster(config, needs)
    cluster.facts["issuer_url"] = cluster.issuer_url
    if config.gcp_project is not None:
        cluster.facts["gcp_project"] = config.gcp_project
    if "project_number" in needs:
        cluster.facts["project_number"] = project_number(config)
    return cluster


def existing_cluster(config: StackConfig, needs: frozenset[str]) -> Cluster:
    from keyless.components.existing_cluster import ExistingCluster

    existing = config.existing
    assert existing is not None  # the config has exactly one cluster section
    args = existing.cluster_args.copy()
    if "kubeconfig" in args:
        args["kubeconfig"] = pulumi.Output.secret(args["kubeconfig"])
    found = ExistingCluster("cluster", args)
    cluster = Cluster(found.issuer_url, found.kubernetes_provider, found.kubeconfig)
    if existing.identity_cloud == "gke":
        cluster.facts["workload_pool"] = found.workload_pool.apply(
            lambda p: p or workload_pool(str(existing.gcp_project))
        )
    if existing.identity_cloud == "aks":
        cluster.facts["azure_resource_group"] = str(existing.azure_resource_group)
        cluster.facts["azure_location"] = found.location.apply(lambda found: found or str(existing.azure_location))
    if existing.identity_cloud == "eks" and "oidc_provider_arn" in needs:
        cluster.facts["oidc_provider_arn"] = oidc_provider_arn(
            found.issuer_url, existing.oidc_provider_arn, lambda url: {"issuer_url": url}
        )
    lookup = existing.cluster_args.get("eks")
    if lookup and needs & identity.LOOKUP_FACTS:  # the config requires a lookup for them
        cluster.facts["cluster_name"] = pulumi.Output.from_input(lookup["cluster_name"])
        cluster.facts["cluster_arn"] = found.cluster_arn.apply(lambda value: value or "")
    return cluster


def project_number(config: StackConfig) -> pulumi.Output[str]:
    """The GKE project's number, looked up once per stack: direct principals name it."""
    from pulumi_gcp import organizations

    return organizations.get_project_output(project_id=config.gcp_project).number.apply(lambda n: str(n or ""))


def oidc_provider_arn(
    issuer_url: pulumi.Output[str], given: str | None, args_for: Callable[[pulumi.Output[str]], EksOidcProviderArgs]
) -> pulumi.Output[str]:
    """The cluster's IAM OIDC provider: the one given, or a new one for its issuer."""
    if given is not None:
        return pulumi.Output.from_input(given)
    from keyless.components.eks_oidc_provider import EksOidcProvider

    return EksOidcProvider("oidc-provider", args_for(issuer_url)).arn


def renamed(workload: WorkloadConfig, component: str, **options: Any) -> pulumi.ResourceOptions:
    """Options for a workload's component: its earlier name is an alias, so a stack deployed
    before the "." join moves the component and its children instead of replacing them."""
    return pulumi.ResourceOptions(aliases=stack_aliases(component, workload.earlier_resource_name), **options)


@dataclass
class Identities:
    """What the identity modes are given across the stack: every service account of each mode
    (an identity may be shared), and what each mode keeps between them."""

    peers: dict[str, tuple[identity.Peer, ...]]
    shared: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, config: StackConfig) -> Identities:
        peers: dict[str, list[identity.Peer]] = {}
        owners: list[tuple[WorkloadConfig | RunnerConfig, str]] = [
            *((w, w.service_account) for w in config.workloads),
            *((r, r.worker) for r in config.workflow_runners),
        ]
        for owner, account in owners:
            if owner.identity_mode is not None:
                peer = identity.Peer(owner.namespace, account, owner.identity_settings)
                peers.setdefault(owner.identity_mode, []).append(peer)
        return cls({mode: tuple(found) for mode, found in peers.items()})


def cloud_identity(
    cluster: Cluster, modes: Identities, owner: WorkloadConfig | RunnerConfig, service_account: str
) -> identity.Created | None:
    """The cloud identity of a workload's (or a runner worker's) service account, created by its
    identity mode with what it needs of the cluster."""
    if owner.identity_mode is None:
        return None
    mode = identity.get(owner.identity_mode)
    binding = identity.Binding(
        name=workload_resource_name(owner.namespace, service_account),
        namespace=owner.namespace,
        service_account=service_account,
        settings=owner.identity_settings,
        cluster={fact: cluster.facts[fact] for fact in mode.needs},
        earlier_name=owner.earlier_resource_name if isinstance(owner, WorkloadConfig) else None,
        peers=modes.peers.get(mode.name, ()),
        shared=modes.shared.setdefault(mode.name, {}),
    )
    return mode.create(binding)


@dataclass
class Namespaces:
    """The namespaces of the workloads and stores: created here, or only referred to on a shared
    cluster where they belong to others."""

    created: dict[str, RestrictedNamespace]

    def name(self, namespace: str) -> pulumi.Input[str]:
        """The namespace's name, as an Output that waits for it when it is created here."""
        return self.created[namespace].name if namespace in self.created else namespace

    def options(self, namespace: str, in_cluster: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
        """Options for what lives in the namespace: it waits for the namespace."""
        waits = [self.created[namespace]] if namespace in self.created else []
        return pulumi.ResourceOptions.merge(in_cluster, pulumi.ResourceOptions(depends_on=waits))


def create_namespaces(config: StackConfig, in_cluster: pulumi.ResourceOptions) -> Namespaces:
    if not config.create_namespaces:
        return Namespaces({})
    return Namespaces(
        {name: RestrictedNamespace(name, config.namespace_args(name), opts=in_cluster) for name in config.namespaces}
    )


def create_workloads(
    config: StackConfig, cluster: Cluster, modes: Identities, namespaces: Namespaces
) -> tuple[dict[str, WorkloadServiceAccount], dict[str, pulumi.Input[str] | None]]:
    """Per workload: its cloud identity (by its identity mode), and its ServiceAccount annotated for it."""
    accounts: dict[str, WorkloadServiceAccount] = {}
    identities: dict[str, pulumi.Input[str] | None] = {}
    for workload in config.workloads:
        args: WorkloadServiceAccountArgs = {
            "namespace": namespaces.name(workload.namespace),
            "name": workload.service_account,
        }
        created = cloud_identity(cluster, modes, workload, workload.service_account)
        if created is not None and created.annotations:
            args["annotations"] = created.annotations
        identities[workload.resource_name] = None if created is None else created.identity
        accounts[workload.resource_name] = WorkloadServiceAccount(
            workload.resource_name, args, renamed(workload, "WorkloadServiceAccount", providers=[cluster.kubernetes])
        )
    return accounts, identities


def run_operator_stacks(config: StackConfig, cluster: Cluster, accounts: dict[str, WorkloadServiceAccount]) -> None:
    """Operator stacks whose workspace logs in as its workload's account."""
    if not config.operator_stacks:
        return
    from keyless.components.keyless_operator_stack import KeylessOperatorStack

    for entry in config.operator_stacks:
        workload = config.workload_named(entry["workload"])
        KeylessOperatorStack(
            f"{workload.namespace}.{entry['name']}",
            config.operator_stack_args(entry),
            pulumi.ResourceOptions(providers=[cluster.kubernetes], depends_on=[accounts[workload.resource_name]]),
        )


def create_esc_stores(config: StackConfig, namespaces: Namespaces, in_cluster: pulumi.ResourceOptions) -> None:
    """ESC for applications: each store reads its environment as its own service account."""
    if not config.esc_stores:
        return
    from keyless.components.keyless_esc_store import KeylessEscStore

    for store in config.esc_stores:
        options = namespaces.options(store["namespace"], in_cluster)
        KeylessEscStore(f"{store['namespace']}.{store['name']}", config.esc_store_args(store), options)


def run_workflow_runners(
    config: StackConfig,
    cluster: Cluster,
    modes: Identities,
    namespaces: Namespaces,
    in_cluster: pulumi.ResourceOptions,
) -> dict[str, pulumi.Output[str]]:
    """Workflow runners whose agents exchange their own token; their pools' ids, by reference."""
    if not config.workflow_runners:
        return {}
    from keyless.components.keyless_workflow_runner import KeylessWorkflowRunner

    pools = {}
    for runner in config.workflow_runners:
        worker = cloud_identity(cluster, modes, runner, runner.worker)
        args = config.workflow_runner_args(runner, None if worker is None else worker.annotations)
        options = namespaces.options(runner.namespace, in_cluster)
        pools[runner.reference] = KeylessWorkflowRunner(runner.resource_name, args, options).pool_id
    return pools


def run_login_job(
    config: StackConfig, cluster: Cluster, trust: PulumiCloudTrust, account: WorkloadServiceAccount
) -> OidcLoginRunner:
    return OidcLoginRunner(
        LOGIN_JOB,
        config.login_job_args(account.namespace, account.name),
        # The first login must not race the issuer registration or the service account.
        opts=pulumi.ResourceOptions(providers=[cluster.kubernetes], depends_on=[trust, account]),
    )


def export_outputs(
    config: StackConfig,
    cluster: Cluster,
    trust: PulumiCloudTrust,
    identities: dict[str, pulumi.Input[str] | None],
    job: OidcLoginRunner | None,
) -> None:
    login = config.login_workload
    if job is not None and login is not None:
        pulumi.export("loginJobName", job.job_name)
        pulumi.export("loginJobNamespace", login.namespace)
        pulumi.export("verifyLogin", pulumi.Output.concat("kubectl logs -n ", login.namespace, " job/", job.job_name))
        if config.login_job.get("canary_schedule"):
            selector = f"app.kubernetes.io/instance={LOGIN_JOB},app.kubernetes.io/component=login-canary"
            pulumi.export(
                "canaryRuns", f"kubectl get jobs -n {login.namespace} -l {selector} --sort-by=.status.startTime"
            )
            pulumi.export(
                "canaryLastLog",
                f"kubectl logs -n {login.namespace} $(kubectl get jobs -n {login.namespace} -l {selector} "
                "--sort-by=.status.startTime -o name | tail -n 1)",
            )
    pulumi.export("cloud", config.cloud)
    pulumi.export("issuerUrl", cluster.issuer_url)
    pulumi.export("pulumiAudience", trust.audience)
    workloads = [
        {
            "namespace": w.namespace,
            "serviceAccount": w.service_account,
            "tokenType": w.token_type,
            "cloudIdentity": identities[w.resource_name],
        }
        for w in config.workloads
    ]
    pulumi.export("workloads", workloads)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    if cluster.name is not None:
        pulumi.export("clusterName", cluster.name)


def main() -> None:
    config = parse(from_runtime())
    for warning in config.warnings:
        pulumi.log.warn(warning)

    cluster = create_cluster(config)
    in_cluster = pulumi.ResourceOptions(providers=[cluster.kubernetes])
    namespaces = create_namespaces(config, in_cluster)

    modes = Identities.of(config)
    accounts, identities = create_workloads(config, cluster, modes, namespaces)
    run_operator_stacks(config, cluster, accounts)
    create_esc_stores(config, namespaces, in_cluster)
    pools = run_workflow_runners(config, cluster, modes, namespaces, in_cluster)

    trust = PulumiCloudTrust("pulumi-cloud", config.trust_args(cluster.issuer_url, pools))

    login = config.login_workload
    job = None if login is None else run_login_job(config, cluster, trust, accounts[login.resource_name])
    export_outputs(config, cluster, trust, identities, job)


main()
