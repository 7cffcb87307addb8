"""Keyless access from Kubernetes workloads to Pulumi Cloud and to their cloud account.

    config ─▶ cluster ─▶ per workload: namespace, cloud identity, ServiceAccount
                    └──▶ Pulumi Cloud trust (issuer + one policy per workload) ─▶ login Job

The stack config is validated as a whole before any resource is registered; every rule lives in
``keyless.core``, and each cloud's SDK is imported only by the stacks that use that cloud.
"""

from dataclasses import dataclass
from typing import Any

import pulumi

from components.oidc_login_runner import OidcLoginRunner
from components.pulumi_cloud_trust import PulumiCloudTrust
from components.restricted_namespace import RestrictedNamespace
from components.workload_service_account import WorkloadServiceAccount, WorkloadServiceAccountArgs
from keyless.config import StackConfig, WorkloadConfig, from_runtime, parse


@dataclass
class Cluster:
    """What the rest of the program needs of a cluster, whoever created it."""

    issuer_url: pulumi.Output[str]
    kubernetes: pulumi.ProviderResource
    kubeconfig: pulumi.Output[str]
    name: pulumi.Output[str] | None = None
    workload_pool: pulumi.Output[str] | None = None
    oidc_provider_arn: pulumi.Output[str] | None = None


def create_cluster(config: StackConfig) -> Cluster:
    if config.gke is not None:
        from components.gke_cluster import GkeCluster

        gke = GkeCluster("cluster", config.gke)
        return Cluster(gke.issuer_url, gke.kubernetes_provider, gke.kubeconfig, gke.cluster_name, gke.workload_pool)
    if config.eks is not None:
        from components.eks_cluster import EksCluster

        eks = EksCluster("cluster", config.eks.cluster_args)
        provider_arn = oidc_provider_arn(eks.issuer_url, config.eks.oidc_provider_arn, config.eks.oidc_provider_args)
        return Cluster(eks.issuer_url, eks.kubernetes_provider, eks.kubeconfig, eks.cluster_name, None, provider_arn)

    from components.existing_cluster import ExistingCluster

    existing = config.existing
    assert existing is not None  # the config has exactly one cluster section
    args = existing.cluster_args.copy()
    if "kubeconfig" in args:
        args["kubeconfig"] = pulumi.Output.secret(args["kubeconfig"])
    found = ExistingCluster("cluster", args)
    pool: pulumi.Output[str] | None = None
    arn: pulumi.Output[str] | None = None
    if existing.identity_cloud == "gke":
        pool = found.workload_pool.apply(lambda p: p or f"{existing.gcp_project}.svc.id.goog")
    if existing.identity_cloud == "eks":
        arn = oidc_provider_arn(found.issuer_url, existing.oidc_provider_arn, lambda url: {"issuer_url": url})
    return Cluster(found.issuer_url, found.kubernetes_provider, found.kubeconfig, None, pool, arn)


def oidc_provider_arn(issuer_url: pulumi.Output[str], given: str | None, args_for: object) -> pulumi.Output[str]:
    """The cluster's IAM OIDC provider: the one given, or a new one for its issuer."""
    if given is not None:
        return pulumi.Output.from_input(given)
    from components.eks_oidc_provider import EksOidcProvider

    return EksOidcProvider("oidc-provider", args_for(issuer_url)).arn  # type: ignore[operator]


def renamed(workload: WorkloadConfig, **options: Any) -> pulumi.ResourceOptions:
    """Options for a workload's component: its earlier name is an alias, so a stack deployed
    before the "." join moves the component and its children instead of replacing them."""
    earlier = workload.earlier_resource_name
    return pulumi.ResourceOptions(aliases=None if earlier is None else [pulumi.Alias(name=earlier)], **options)


def service_account_args(
    config: StackConfig, cluster: Cluster, workload: WorkloadConfig, namespace: pulumi.Input[str]
) -> WorkloadServiceAccountArgs:
    """The workload's ServiceAccount, annotated with the cloud identity created for it here."""
    args: WorkloadServiceAccountArgs = {"namespace": namespace, "name": workload.service_account}
    if config.identity_cloud == "gke":
        from components.gcp_workload_identity import GcpWorkloadIdentity

        identity = workload.gcp_identity_args(config.gcp_project, cluster.workload_pool)
        args["gcp_service_account_email"] = GcpWorkloadIdentity(
            workload.resource_name, identity, renamed(workload)
        ).email
    elif config.identity_cloud == "eks":
        from components.irsa_role import IrsaRole

        role = workload.irsa_args(cluster.oidc_provider_arn, cluster.issuer_url)
        args["aws_role_arn"] = IrsaRole(workload.resource_name, role, renamed(workload)).arn
    return args


def create_namespaces(config: StackConfig, in_cluster: pulumi.ResourceOptions) -> dict[str, pulumi.Input[str]]:
    """The workloads' namespaces; on a shared cluster they may belong to others, and are only referred to."""
    if not config.create_namespaces:
        return {name: name for name in config.namespaces}
    return {
        name: RestrictedNamespace(name, config.namespace_args(name), opts=in_cluster).name for name in config.namespaces
    }


def run_login_job(
    config: StackConfig, cluster: Cluster, trust: PulumiCloudTrust, account: WorkloadServiceAccount
) -> OidcLoginRunner:
    return OidcLoginRunner(
        "oidc-login",
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

    accounts: dict[str, WorkloadServiceAccount] = {}
    identities: dict[str, pulumi.Input[str] | None] = {}
    for workload in config.workloads:
        args = service_account_args(config, cluster, workload, namespaces[workload.namespace])
        account = WorkloadServiceAccount(
            workload.resource_name, args, renamed(workload, providers=[cluster.kubernetes])
        )
        accounts[workload.resource_name] = account
        identities[workload.resource_name] = args.get("gcp_service_account_email") or args.get("aws_role_arn")

    trust = PulumiCloudTrust("pulumi-cloud", config.trust_args(cluster.issuer_url))

    login = config.login_workload
    job = None if login is None else run_login_job(config, cluster, trust, accounts[login.resource_name])
    export_outputs(config, cluster, trust, identities, job)


main()
