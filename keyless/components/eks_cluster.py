"""An EKS cluster (API authentication mode) with a managed node group."""

from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s
from pulumi_aws import eks, get_partition_output, iam

from keyless.components._common import child_opts, validated
from keyless.core.aws import (
    CLUSTER_POLICIES,
    EKS_CLUSTER,
    NODE_POLICIES,
    POD_IDENTITY_AGENT_ADDON,
    VPC_CNI_ADDON,
    VPC_CNI_NETWORK_POLICY,
    eks_issuer_from_identities,
    eks_kubeconfig,
    issuer_host,
    managed_policy_arn,
    service_assume_role_policy,
)
from keyless.core.naming import type_token


class EksClusterArgs(TypedDict):
    cluster_name: pulumi.Input[str]
    """Cluster name (1-100 letters, digits, '-' and '_', starting with a letter or digit)."""
    kubernetes_version: pulumi.Input[str]
    """Kubernetes minor version, e.g. "1.33"."""
    region: NotRequired[pulumi.Input[str]]
    """Region passed to ``aws eks get-token`` in the kubeconfig (default: the CLI's own)."""
    subnet_ids: NotRequired[pulumi.Input[Sequence[str]]]
    """Subnets of the control plane and nodes; default: the default VPC's default-for-AZ subnets."""
    instance_types: NotRequired[pulumi.Input[Sequence[str]]]
    """Instance types of the managed node group (default t3.medium)."""
    desired_size: NotRequired[pulumi.Input[int]]
    """Nodes wanted (default 2)."""
    min_size: NotRequired[pulumi.Input[int]]
    """Fewest nodes (default 1)."""
    max_size: NotRequired[pulumi.Input[int]]
    """Most nodes (default 3)."""
    pod_identity_agent: NotRequired[bool]
    """Install the eks-pod-identity-agent add-on, which EKS Pod Identity needs (default false)."""
    enforce_network_policy: NotRequired[bool]
    """Manage the VPC CNI add-on with network policy enforcement on (default true); false leaves
    the cluster's CNI as EKS installs it, where NetworkPolicy objects have no effect."""
    deletion_protection: NotRequired[bool]
    """Refuse to delete the cluster (default true); set false for throwaway stacks."""


class EksCluster(pulumi.ComponentResource):
    """EKS cluster using access entries (``API`` mode), its IAM roles and a managed node group."""

    issuer_url: pulumi.Output[str]
    """OIDC issuer of the cluster's service-account tokens."""
    issuer_host: pulumi.Output[str]
    """The issuer without ``https://``: the prefix of IRSA trust-policy condition keys."""
    cluster_name: pulumi.Output[str]
    """The cluster's name."""
    cluster_arn: pulumi.Output[str]
    """The cluster's ARN (EKS Pod Identity trust policies name it)."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig (secret) using ``aws eks get-token``."""

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        checked = validated(EKS_CLUSTER, args)
        super().__init__(type_token("EksCluster"), name, None, opts)
        partition = get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition

        subnet_ids = checked["subnet_ids"]
        if subnet_ids is None:
            from pulumi_aws import ec2  # a large module: loaded only when the default VPC is looked up

            default_vpc = ec2.get_vpc_output(default=True, opts=pulumi.InvokeOutputOptions(parent=self))
            subnet_ids = ec2.get_subnets_output(
                filters=default_vpc.id.apply(
                    lambda vpc_id: [
                        ec2.GetSubnetsFilterArgs(name="vpc-id", values=[vpc_id]),
                        ec2.GetSubnetsFilterArgs(name="default-for-az", values=["true"]),
                    ]
                ),
                opts=pulumi.InvokeOutputOptions(parent=self),
            ).ids

        cluster_role, cluster_attachments = self._service_role(
            f"{name}-cluster",
            "eks",
            CLUSTER_POLICIES,
            pulumi.Output.concat("EKS control plane of ", checked["cluster_name"]),
            partition,
        )
        cluster = eks.Cluster(
            name,
            eks.ClusterArgs(
                name=checked["cluster_name"],
                version=checked["kubernetes_version"],
                role_arn=cluster_role.arn,
                vpc_config=eks.ClusterVpcConfigArgs(
                    subnet_ids=subnet_ids, endpoint_public_access=True, endpoint_private_access=True
                ),
                access_config=eks.ClusterAccessConfigArgs(
                    authentication_mode="API",
                    # Whoever runs `pulumi up` stays cluster admin, so the stack can manage the
                    # Kubernetes objects below; further admins are explicit access entries.
                    bootstrap_cluster_creator_admin_permissions=True,
                ),
                deletion_protection=checked["deletion_protection"],
            ),
            opts=child_opts(self, depends_on=cluster_attachments),
        )

        node_waits_for: list[pulumi.Resource] = []
        if checked["enforce_network_policy"]:
            # Before the nodes, as the CNI must be configured when they join (terraform-aws-eks
            # calls this before_compute); OVERWRITE adopts the CNI EKS installed itself.
            node_waits_for.append(
                eks.Addon(
                    f"{name}-vpc-cni",
                    eks.AddonArgs(
                        cluster_name=cluster.name,
                        addon_name=VPC_CNI_ADDON,
                        configuration_values=VPC_CNI_NETWORK_POLICY,
                        resolve_conflicts_on_create="OVERWRITE",
                        resolve_conflicts_on_update="OVERWRITE",
                    ),
                    opts=child_opts(self),
                )
            )
        if checked["pod_identity_agent"]:
            eks.Addon(
                f"{name}-pod-identity-agent",
                eks.AddonArgs(cluster_name=cluster.name, addon_name=POD_IDENTITY_AGENT_ADDON),
                opts=child_opts(self),
            )
        node_role, node_attachments = self._service_role(
            f"{name}-nodes",
            "ec2",
            NODE_POLICIES,
            pulumi.Output.concat("EKS nodes of ", checked["cluster_name"]),
            partition,
        )
        eks.NodeGroup(
            f"{name}-nodes",
            eks.NodeGroupArgs(
                cluster_name=cluster.name,
                node_role_arn=node_role.arn,
                subnet_ids=subnet_ids,
                instance_types=checked["instance_types"],
                scaling_config=eks.NodeGroupScalingConfigArgs(
                    desired_size=checked["desired_size"],
                    min_size=checked["min_size"],
                    max_size=checked["max_size"],
                ),
            ),
            opts=child_opts(self, depends_on=[*node_attachments, *node_waits_for]),
        )

        self.cluster_name = cluster.name
        self.cluster_arn = cluster.arn
        self.issuer_url = cluster.identities.apply(eks_issuer_from_identities)
        self.issuer_host = self.issuer_url.apply(issuer_host)
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(
                cluster.name, cluster.endpoint, cluster.certificate_authority.data, checked["region"]
            ).apply(lambda parts: eks_kubeconfig(parts[0], parts[1], parts[2], parts[3]))
        )
        self.kubernetes_provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, enable_server_side_apply=True, opts=child_opts(self)
        )
        self.register_outputs(
            {
                "issuer_url": self.issuer_url,
                "issuer_host": self.issuer_host,
                "cluster_name": self.cluster_name,
                "cluster_arn": self.cluster_arn,
                "kubeconfig": self.kubeconfig,
            }
        )

    def _service_role(
        self,
        name: str,
        service: str,
        policies: Sequence[str],
        description: pulumi.Input[str],
        partition: pulumi.Output[str],
    ) -> tuple[iam.Role, list[iam.RolePolicyAttachment]]:
        """An IAM role that an AWS service assumes, with AWS-managed policies attached."""
        role = iam.Role(
            name,
            assume_role_policy=partition.apply(lambda p: service_assume_role_policy(p, service)),
            description=description,
            opts=child_opts(self),
        )
        attachments = [
            iam.RolePolicyAttachment(
                f"{name}-{policy}",
                role=role.name,
                policy_arn=pulumi.Output.all(partition, policy).apply(lambda parts: managed_policy_arn(*parts)),
                opts=child_opts(self),
            )
            for policy in policies
        ]
        return role, attachments
