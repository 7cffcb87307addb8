"""Keyless access from Kubernetes workloads to Pulumi Cloud and to their cloud account.

This program reads and validates the stack configuration, then wires the components in
``components/``. Every config error is reported before any resource is registered.
"""

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
from pulumi.runtime import config as runtime_config

from components.oidc_login_runner import OidcLoginRunner, OidcLoginRunnerArgs
from components.pulumi_cloud_trust import PulumiCloudTrust
from components.restricted_namespace import RestrictedNamespace
from components.workload_service_account import WorkloadServiceAccount, WorkloadServiceAccountArgs
from stack_config import StackConfig, WorkloadConfig, load_stack_config


def read_stack_config() -> StackConfig:
    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = [key for key in values if runtime_config.is_config_secret(key)]
    secret_keys += runtime_config.get_config_secret_keys_env()
    return load_stack_config(values, project=pulumi.get_project(), stack=pulumi.get_stack(), secret_keys=secret_keys)


@dataclass
class Cluster:
    issuer_url: pulumi.Output[str]
    kubernetes_provider: k8s.Provider
    kubeconfig: pulumi.Output[str]
    name: pulumi.Output[str] | None = None
    workload_pool: pulumi.Output[str] | None = None
    oidc_provider_arn: pulumi.Output[str] | None = None


def oidc_provider_arn(
    issuer_url: pulumi.Output[str], existing_arn: str | None, thumbprints: tuple[str, ...] | None
) -> pulumi.Output[str]:
    if existing_arn is not None:
        return pulumi.Output.from_input(existing_arn)
    from components.eks_oidc_provider import EksOidcProvider, EksOidcProviderArgs

    args: EksOidcProviderArgs = {"issuer_url": issuer_url}
    if thumbprints is not None:
        args["thumbprints"] = list(thumbprints)
    return EksOidcProvider("oidc-provider", args).arn


def create_cluster(config: StackConfig) -> Cluster:
    if config.gke is not None:
        from components.gke_cluster import GkeCluster

        gke = config.gke
        cluster = GkeCluster(
            "cluster",
            {
                "project": gke.project,
                "location": gke.location,
                "cluster_name": gke.cluster_name,
                "node_count": gke.node_count,
                "machine_type": gke.machine_type,
                "release_channel": gke.release_channel,
                "deletion_protection": gke.deletion_protection,
            },
        )
        return Cluster(
            cluster.issuer_url,
            cluster.kubernetes_provider,
            cluster.kubeconfig,
            cluster.cluster_name,
            cluster.workload_pool,
        )
    if config.eks is not None:
        from components.eks_cluster import EksCluster, EksClusterArgs

        eks = config.eks
        eks_args: EksClusterArgs = {
            "cluster_name": eks.cluster_name,
            "kubernetes_version": eks.kubernetes_version,
            "region": eks.region,
            "instance_types": list(eks.instance_types),
            "desired_size": eks.desired_size,
            "min_size": eks.min_size,
            "max_size": eks.max_size,
            "deletion_protection": eks.deletion_protection,
        }
        if eks.subnet_ids is not None:
            eks_args["subnet_ids"] = list(eks.subnet_ids)
        eks_cluster = EksCluster("cluster", eks_args)
        return Cluster(
            eks_cluster.issuer_url,
            eks_cluster.kubernetes_provider,
            eks_cluster.kubeconfig,
            eks_cluster.cluster_name,
            oidc_provider_arn=oidc_provider_arn(eks_cluster.issuer_url, eks.oidc_provider_arn, eks.oidc_thumbprints),
        )

    from components.existing_cluster import ExistingCluster, ExistingClusterArgs

    existing = config.existing
    assert existing is not None  # load_stack_config guarantees one cluster section
    existing_args: ExistingClusterArgs = {}
    if existing.issuer_url is not None:
        existing_args["issuer_url"] = existing.issuer_url
    if existing.kubeconfig is not None:
        existing_args["kubeconfig"] = pulumi.Output.secret(existing.kubeconfig)
    if existing.context is not None:
        existing_args["context"] = existing.context
    if existing.lookup_cluster_name is not None and existing.identity_cloud == "gke":
        existing_args["gke"] = {
            "project": existing.gcp_project or "",
            "location": existing.lookup_location or "",
            "cluster_name": existing.lookup_cluster_name,
        }
    elif existing.lookup_cluster_name is not None and existing.identity_cloud == "eks":
        existing_args["eks"] = {"cluster_name": existing.lookup_cluster_name, "region": existing.aws_region or ""}
    found = ExistingCluster("cluster", existing_args)
    pool = None
    if existing.identity_cloud == "gke":
        pool = found.workload_pool.apply(lambda p: p or f"{existing.gcp_project}.svc.id.goog")
    provider_arn = None
    if existing.identity_cloud == "eks":
        provider_arn = oidc_provider_arn(found.issuer_url, existing.oidc_provider_arn, None)
    return Cluster(found.issuer_url, found.kubernetes_provider, found.kubeconfig, None, pool, provider_arn)


def cloud_identity(config: StackConfig, cluster: Cluster, workload: WorkloadConfig) -> dict[str, pulumi.Output[str]]:
    """Create the workload's cloud identity; return the ServiceAccount argument that names it."""
    if config.identity_cloud == "gke":
        from components.gcp_workload_identity import GcpWorkloadIdentity

        assert cluster.workload_pool is not None
        project = config.gke.project if config.gke else (config.existing.gcp_project if config.existing else None)
        assert project is not None  # load_stack_config requires it for GKE identities
        identity = GcpWorkloadIdentity(
            workload.resource_name,
            {
                "project": project,
                "workload_pool": cluster.workload_pool,
                "namespace": workload.namespace,
                "service_account": workload.service_account,
                "project_roles": list(workload.gcp_roles),
            },
        )
        return {"gcp_service_account_email": identity.email}
    if config.identity_cloud == "eks":
        from components.irsa_role import IrsaRole, IrsaRoleArgs

        assert cluster.oidc_provider_arn is not None
        role_args: IrsaRoleArgs = {
            "oidc_provider_arn": cluster.oidc_provider_arn,
            "issuer_url": cluster.issuer_url,
            "service_accounts": [{"namespace": workload.namespace, "name": workload.service_account}],
            "managed_policy_arns": list(workload.aws_managed_policy_arns),
        }
        if workload.aws_permissions_boundary is not None:
            role_args["permissions_boundary"] = workload.aws_permissions_boundary
        return {"aws_role_arn": IrsaRole(workload.resource_name, role_args).arn}
    return {}


def main() -> None:
    config = read_stack_config()
    cluster = create_cluster(config)
    in_cluster = pulumi.ResourceOptions(providers=[cluster.kubernetes_provider])

    # On a shared cluster the namespaces may belong to someone else: then they are only referred to.
    namespaces: dict[str, pulumi.Input[str]] = {name: name for name in config.namespaces}
    if config.create_namespaces:
        for name in config.namespaces:
            namespaces[name] = RestrictedNamespace(
                name, {"name": name, "pod_security_level": config.pod_security_level}, opts=in_cluster
            ).name
    service_accounts: dict[str, WorkloadServiceAccount] = {}
    exported_workloads = []
    for workload in config.workloads:
        identity = cloud_identity(config, cluster, workload)
        account_args: WorkloadServiceAccountArgs = {
            "namespace": namespaces[workload.namespace],
            "name": workload.service_account,
        }
        if "gcp_service_account_email" in identity:
            account_args["gcp_service_account_email"] = identity["gcp_service_account_email"]
        if "aws_role_arn" in identity:
            account_args["aws_role_arn"] = identity["aws_role_arn"]
        service_accounts[workload.resource_name] = WorkloadServiceAccount(
            workload.resource_name, account_args, opts=in_cluster
        )
        exported_workloads.append(
            {
                "namespace": workload.namespace,
                "serviceAccount": workload.service_account,
                "tokenType": workload.token_type,
                "cloudIdentity": next(iter(identity.values()), None),
            }
        )

    trust = PulumiCloudTrust(
        "pulumi-cloud",
        {
            "organization": config.organization,
            "issuer_url": cluster.issuer_url,
            "issuer_name": config.issuer.name,
            "workloads": [workload.policy() for workload in config.workloads],
            "max_expiration_seconds": config.issuer.max_expiration_seconds,
            "pin_audience": config.issuer.pin_audience,
        },
    )

    login = config.login_workload
    if login is not None:
        account = service_accounts[login.resource_name]
        runner_args: OidcLoginRunnerArgs = {
            "namespace": account.namespace,
            "service_account_name": account.name,
            "organization": config.organization,
            "token_type": login.token_type,
            "image": config.runner.image,
            "token_expiration_seconds": config.runner.token_expiration_seconds,
            "exchanged_token_lifetime": config.runner.exchanged_token_lifetime,
            "backend_url": config.runner.backend_url,
            "active_deadline_seconds": config.runner.active_deadline_seconds,
            "await_timeout_seconds": config.runner.await_timeout_seconds,
        }
        if login.team_name is not None:
            runner_args["team_name"] = login.team_name
        if login.user_login is not None:
            runner_args["user_login"] = login.user_login
        runner = OidcLoginRunner(
            "oidc-login",
            runner_args,
            # The first login must not race the issuer registration or the service account.
            opts=pulumi.ResourceOptions(providers=[cluster.kubernetes_provider], depends_on=[trust, account]),
        )
        pulumi.export("loginJobName", runner.job_name)
        pulumi.export("loginJobNamespace", login.namespace)
        pulumi.export(
            "verifyLogin", pulumi.Output.concat("kubectl logs -n ", login.namespace, " job/", runner.job_name)
        )

    pulumi.export("cloud", config.cloud)
    pulumi.export("issuerUrl", cluster.issuer_url)
    pulumi.export("pulumiAudience", trust.audience)
    pulumi.export("workloads", exported_workloads)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    if cluster.name is not None:
        pulumi.export("clusterName", cluster.name)


main()
