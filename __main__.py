"""Keyless access from Kubernetes workloads to Pulumi Cloud and to their cloud account.

    config ─▶ cluster ─▶ per workload: namespace, cloud identity, ServiceAccount
                    └──▶ Pulumi Cloud trust (issuer + one policy per workload) ─▶ login Job

The stack config is validated as a whole before any resource is registered; every rule lives in
``keyless.core``, and each cloud's SDK is imported only by the stacks that use that cloud.
"""

from dataclasses import dataclass

import pulumi

from components.oidc_login_runner import OidcLoginRunner
from components.pulumi_cloud_trust import PulumiCloudTrust
from components.restricted_namespace import RestrictedNamespace
from components.workload_service_account import WorkloadServiceAccount
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

        gke = GkeCluster("cluster", config.gke)  # type: ignore[arg-type]
        return Cluster(gke.issuer_url, gke.kubernetes_provider, gke.kubeconfig, gke.cluster_name, gke.workload_pool)
    if config.eks is not None:
        from components.eks_cluster import EksCluster

        eks = EksCluster("cluster", config.eks.cluster_args)  # type: ignore[arg-type]
        provider_arn = oidc_provider_arn(eks.issuer_url, config.eks.oidc_provider_arn, config.eks.oidc_provider_args)
        return Cluster(eks.issuer_url, eks.kubernetes_provider, eks.kubeconfig, eks.cluster_name, None, provider_arn)

    from components.existing_cluster import ExistingCluster

    existing = config.existing
    assert existing is not None  # the config has exactly one cluster section
    args = dict(existing.cluster_args)
    if "kubeconfig" in args:
        args["kubeconfig"] = pulumi.Output.secret(args["kubeconfig"])
    found = ExistingCluster("cluster", args)  # type: ignore[arg-type]
    pool = provider_arn = None
    if existing.identity_cloud == "gke":
        pool = found.workload_pool.apply(lambda p: p or f"{existing.gcp_project}.svc.id.goog")
    if existing.identity_cloud == "eks":
        provider_arn = oidc_provider_arn(found.issuer_url, existing.oidc_provider_arn, lambda url: {"issuer_url": url})
    return Cluster(found.issuer_url, found.kubernetes_provider, found.kubeconfig, None, pool, provider_arn)


def oidc_provider_arn(issuer_url: pulumi.Output[str], given: str | None, args_for: object) -> pulumi.Output[str]:
    """The cluster's IAM OIDC provider: the one given, or a new one for its issuer."""
    if given is not None:
        return pulumi.Output.from_input(given)
    from components.eks_oidc_provider import EksOidcProvider

    return EksOidcProvider("oidc-provider", args_for(issuer_url)).arn  # type: ignore[operator]


def cloud_identity(config: StackConfig, cluster: Cluster, workload: WorkloadConfig) -> dict[str, pulumi.Output[str]]:
    """The workload's cloud identity, as the ServiceAccount argument that names it."""
    if config.identity_cloud == "gke":
        from components.gcp_workload_identity import GcpWorkloadIdentity

        args = workload.gcp_identity_args(config.gcp_project, cluster.workload_pool)
        return {"gcp_service_account_email": GcpWorkloadIdentity(workload.resource_name, args).email}  # type: ignore[arg-type]
    if config.identity_cloud == "eks":
        from components.irsa_role import IrsaRole

        args = workload.irsa_args(cluster.oidc_provider_arn, cluster.issuer_url)
        return {"aws_role_arn": IrsaRole(workload.resource_name, args).arn}  # type: ignore[arg-type]
    return {}


def main() -> None:
    config = parse(from_runtime())
    for warning in config.warnings:
        pulumi.log.warn(warning)
    cluster = create_cluster(config)
    in_cluster = pulumi.ResourceOptions(providers=[cluster.kubernetes])

    # On a shared cluster the namespaces may belong to someone else: then they are only referred to.
    namespaces: dict[str, pulumi.Input[str]] = {name: name for name in config.namespaces}
    if config.create_namespaces:
        for name in config.namespaces:
            namespaces[name] = RestrictedNamespace(name, config.namespace_args(name), opts=in_cluster).name  # type: ignore[arg-type]

    accounts: dict[str, WorkloadServiceAccount] = {}
    identities: dict[str, pulumi.Output[str] | None] = {}
    for workload in config.workloads:
        identity = cloud_identity(config, cluster, workload)
        args = {"namespace": namespaces[workload.namespace], "name": workload.service_account, **identity}
        accounts[workload.resource_name] = WorkloadServiceAccount(workload.resource_name, args, opts=in_cluster)  # type: ignore[arg-type]
        identities[workload.resource_name] = next(iter(identity.values()), None)

    trust = PulumiCloudTrust("pulumi-cloud", config.trust_args(cluster.issuer_url))  # type: ignore[arg-type]

    login = config.login_workload
    if login is not None:
        account = accounts[login.resource_name]
        job = OidcLoginRunner(
            "oidc-login",
            config.login_job_args(account.namespace, account.name),  # type: ignore[arg-type]
            # The first login must not race the issuer registration or the service account.
            opts=pulumi.ResourceOptions(providers=[cluster.kubernetes], depends_on=[trust, account]),
        )
        pulumi.export("loginJobName", job.job_name)
        pulumi.export("loginJobNamespace", login.namespace)
        pulumi.export("verifyLogin", pulumi.Output.concat("kubectl logs -n ", login.namespace, " job/", job.job_name))

    pulumi.export("cloud", config.cloud)
    pulumi.export("issuerUrl", cluster.issuer_url)
    pulumi.export("pulumiAudience", trust.audience)
    pulumi.export(
        "workloads",
        [
            {
                "namespace": w.namespace,
                "serviceAccount": w.service_account,
                "tokenType": w.token_type,
                "cloudIdentity": identities[w.resource_name],
            }
            for w in config.workloads
        ],
    )
    pulumi.export("kubeconfig", cluster.kubeconfig)
    if cluster.name is not None:
        pulumi.export("clusterName", cluster.name)


main()
