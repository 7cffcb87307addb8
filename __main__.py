"""Keyless access from Kubernetes workloads to Pulumi Cloud and to their cloud account.

    config ─▶ cluster ─▶ namespaces ─▶ each kind's entries (keyless.kinds), in order:
                    │       workloads        ServiceAccount + cloud identity
                    │       operatorStacks   a Stack whose workspace logs in as its workload
                    │       escStores        a store reading ESC as its own ServiceAccount
                    │       workflowRunners  a pool's agents + a worker with a cloud identity
                    └──▶ Pulumi Cloud trust (issuer + every entry's policies) ─▶ login Job

The stack config is validated as a whole before any resource is registered; every rule lives in
``keyless.core``, each kind in ``keyless.kinds``, each identity mode in ``keyless.identity``, and
each cloud's SDK is imported only by the stacks that use that cloud.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi

from keyless import identity, kinds
from keyless.components.oidc_login_runner import OidcLoginRunner
from keyless.components.pulumi_cloud_trust import PulumiCloudTrust
from keyless.components.restricted_namespace import RestrictedNamespace
from keyless.components.workload_service_account import WorkloadServiceAccount
from keyless.config import StackConfig, from_runtime, parse
from keyless.core.gcp import workload_pool

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


def cloud_identities(config: StackConfig, cluster: Cluster) -> Callable[[kinds.Account], identity.Created | None]:
    """How each account of the stack gets its cloud identity: its identity mode creates it, with
    what the mode needs of the cluster and every other account of the mode (an identity may be
    shared)."""
    peers: dict[str, list[identity.Peer]] = {}
    for account in config.accounts():
        if account.identity_mode is not None:
            peer = identity.Peer(account.namespace, account.name, account.identity_settings)
            peers.setdefault(account.identity_mode, []).append(peer)
    shared: dict[str, dict[str, Any]] = {}

    def create(account: kinds.Account) -> identity.Created | None:
        if account.identity_mode is None:
            return None
        mode = identity.get(account.identity_mode)
        binding = identity.Binding(
            name=account.resource_name,
            namespace=account.namespace,
            service_account=account.name,
            settings=account.identity_settings,
            cluster={fact: cluster.facts[fact] for fact in mode.needs},
            earlier_name=account.earlier_name,
            peers=tuple(peers.get(mode.name, ())),
            shared=shared.setdefault(mode.name, {}),
        )
        return mode.create(binding)

    return create


def create_namespaces(config: StackConfig, in_cluster: pulumi.ResourceOptions) -> dict[str, RestrictedNamespace]:
    if not config.create_namespaces:
        return {}
    return {name: RestrictedNamespace(name, config.namespace_args(name), opts=in_cluster) for name in config.namespaces}


def create_entries(config: StackConfig, cluster: Cluster, namespaces: dict[str, RestrictedNamespace]) -> kinds.Context:
    """Each kind's entries, in the registry's order (a kind may use what an earlier one made)."""
    context = kinds.Context(config.organization, cluster.kubernetes, namespaces, cloud_identities(config, cluster))
    for kind in kinds.kinds():
        entries = config.of(kind)
        if entries:
            context.made[kind.key] = kind.create(entries, context)
    return context


def run_login_job(
    config: StackConfig, cluster: Cluster, trust: PulumiCloudTrust, made: kinds.Context
) -> OidcLoginRunner:
    login = config.login_workload
    assert login is not None
    account = made.account(login.reference)
    assert isinstance(account, WorkloadServiceAccount)
    return OidcLoginRunner(
        LOGIN_JOB,
        config.login_job_args(account.namespace, account.name),
        # The first login must not race the issuer registration or the service account.
        opts=pulumi.ResourceOptions(providers=[cluster.kubernetes], depends_on=[trust, account]),
    )


def export_outputs(
    config: StackConfig, cluster: Cluster, trust: PulumiCloudTrust, made: kinds.Context, job: OidcLoginRunner | None
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
    for kind in made.made.values():
        for name, value in kind.outputs.items():
            pulumi.export(name, value)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    if cluster.name is not None:
        pulumi.export("clusterName", cluster.name)


def main() -> None:
    config = parse(from_runtime())
    for warning in config.warnings:
        pulumi.log.warn(warning)

    cluster = create_cluster(config)
    namespaces = create_namespaces(config, pulumi.ResourceOptions(providers=[cluster.kubernetes]))
    made = create_entries(config, cluster, namespaces)

    policies = [policy for kind in made.made.values() for policy in kind.policies]
    trust = PulumiCloudTrust("pulumi-cloud", config.trust_args(cluster.issuer_url, policies))

    job = None if config.login_workload is None else run_login_job(config, cluster, trust, made)
    export_outputs(config, cluster, trust, made, job)


main()
