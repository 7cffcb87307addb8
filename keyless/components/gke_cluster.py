"""A GKE cluster with Workload Identity, and the facts other components need about it."""

from typing import NotRequired, TypedDict, cast

import pulumi
import pulumi_gcp.container as gke
import pulumi_kubernetes as k8s

from keyless.components._common import child_opts, validated
from keyless.core.gcp import (
    DATAPLANE_V2,
    GKE_CLUSTER,
    ReleaseChannel,
    gke_context_name,
    gke_issuer_url,
    gke_kubeconfig,
    workload_pool,
)
from keyless.core.naming import type_token


class GkeClusterArgs(TypedDict):
    project: pulumi.Input[str]
    """Google Cloud project that owns the cluster and its workload identity pool."""
    location: pulumi.Input[str]
    """Region (regional cluster) or zone (zonal cluster)."""
    cluster_name: pulumi.Input[str]
    """Cluster name; it is part of the OIDC issuer URL."""
    node_count: NotRequired[pulumi.Input[int]]
    """Nodes per zone in the node pool (default 1)."""
    machine_type: NotRequired[pulumi.Input[str]]
    """Machine type of the nodes (default e2-standard-2)."""
    release_channel: NotRequired[ReleaseChannel]
    """RAPID, REGULAR (default), STABLE or EXTENDED."""
    enforce_network_policy: NotRequired[bool]
    """Create the cluster with Dataplane V2, which enforces NetworkPolicy (default true). Set at
    creation only: changing it replaces the cluster."""
    deletion_protection: NotRequired[bool]
    """Refuse to destroy the cluster (default true, as the provider); set false for throwaway stacks."""
    node_service_account: NotRequired[pulumi.Input[str]]
    """Email of a dedicated, minimally privileged node service account (recommended)."""
    network: NotRequired[pulumi.Input[str]]
    """VPC network (default: the project's default network)."""
    subnetwork: NotRequired[pulumi.Input[str]]
    """Subnetwork of the nodes."""


class GkeCluster(pulumi.ComponentResource):
    """GKE cluster whose pods get Workload Identity, never the node's service account."""

    issuer_url: pulumi.Output[str]
    """OIDC issuer of the cluster's service-account tokens (no trailing slash)."""
    workload_pool: pulumi.Output[str]
    """Workload identity pool: ``<project>.svc.id.goog``."""
    cluster_name: pulumi.Output[str]
    """The cluster's name."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig (secret) using gke-gcloud-auth-plugin."""

    def __init__(self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        checked = validated(GKE_CLUSTER, args)
        super().__init__(type_token("GkeCluster"), name, None, opts)
        project = pulumi.Output.from_input(checked["project"])
        location = checked["location"]

        cluster = gke.Cluster(
            name,
            gke.ClusterArgs(
                name=checked["cluster_name"],
                project=project,
                location=location,
                # The default pool cannot be configured for Workload Identity metadata, so it
                # is removed as soon as the cluster exists and replaced by the pool below.
                remove_default_node_pool=True,
                initial_node_count=1,
                workload_identity_config=gke.ClusterWorkloadIdentityConfigArgs(
                    workload_pool=project.apply(workload_pool)
                ),
                release_channel=gke.ClusterReleaseChannelArgs(channel=checked["release_channel"]),
                deletion_protection=checked["deletion_protection"],
                datapath_provider=DATAPLANE_V2 if checked["enforce_network_policy"] else None,
                network=checked["network"],
                subnetwork=checked["subnetwork"],
            ),
            opts=child_opts(self),
        )
        gke.NodePool(
            f"{name}-nodes",
            gke.NodePoolArgs(
                cluster=cluster.name,
                project=project,
                location=location,
                node_count=checked["node_count"],
                management=gke.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
                node_config=gke.NodePoolNodeConfigArgs(
                    machine_type=checked["machine_type"],
                    service_account=checked["node_service_account"],
                    oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
                    # Without GKE_METADATA, pods silently act as the node's service account.
                    workload_metadata_config=gke.NodePoolNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
                    shielded_instance_config=gke.NodePoolNodeConfigShieldedInstanceConfigArgs(
                        enable_secure_boot=True, enable_integrity_monitoring=True
                    ),
                ),
            ),
            opts=child_opts(self),
        )

        self.cluster_name = cluster.name
        self.issuer_url = pulumi.Output.all(project, cluster.location, cluster.name).apply(
            lambda parts: gke_issuer_url(parts[0], parts[1], parts[2])
        )
        self.workload_pool = cluster.workload_identity_config.apply(lambda config: cast(str, config.workload_pool))
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(
                project, cluster.location, cluster.name, cluster.endpoint, cluster.master_auth.cluster_ca_certificate
            ).apply(lambda parts: gke_kubeconfig(gke_context_name(parts[0], parts[1], parts[2]), parts[3], parts[4]))
        )
        self.kubernetes_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            opts=child_opts(self),
        )
        self.register_outputs(
            {
                "issuer_url": self.issuer_url,
                "workload_pool": self.workload_pool,
                "cluster_name": self.cluster_name,
                "kubeconfig": self.kubeconfig,
            }
        )
