"""An EKS cluster (API authentication mode) with a managed node group."""

import json
from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s
from pulumi_aws import eks, get_partition_output, iam

from components._common import (
    InvalidArgumentError,
    check_int_range,
    child_opts,
    type_token,
)
from components.cluster_facts import eks_issuer_from_identities, eks_kubeconfig

DEFAULT_INSTANCE_TYPES = ("t3.medium",)
_CLUSTER_POLICIES = ("AmazonEKSClusterPolicy",)
_NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly")


class EksClusterArgs(TypedDict):
    cluster_name: str
    """Cluster name (1-100 letters, digits, '-' and '_', starting with a letter or digit)."""
    kubernetes_version: str
    """Kubernetes minor version, e.g. "1.33"."""
    region: NotRequired[str]
    """Region passed to ``aws eks get-token`` in the kubeconfig (default: the CLI's own)."""
    subnet_ids: NotRequired[pulumi.Input[Sequence[str]]]
    """Subnets of the control plane and nodes; default: the default VPC's default-for-AZ subnets."""
    instance_types: NotRequired[Sequence[str]]
    """Instance types of the managed node group (default t3.medium)."""
    desired_size: NotRequired[int]
    """Nodes wanted (default 2)."""
    min_size: NotRequired[int]
    """Fewest nodes (default 1)."""
    max_size: NotRequired[int]
    """Most nodes (default 3)."""
    deletion_protection: NotRequired[bool]
    """Refuse to delete the cluster (default true); set false for throwaway stacks."""


def service_assume_role_policy(partition: str, service: str) -> str:
    """Trust policy letting an AWS service principal assume a role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {
                        "Service": f"{service}.{'amazonaws.com.cn' if partition == 'aws-cn' else 'amazonaws.com'}"
                    },
                    "Action": ["sts:AssumeRole", "sts:TagSession"] if service == "eks" else "sts:AssumeRole",
                }
            ],
        },
        separators=(",", ":"),
    )


def aws_managed_policy_arn(partition: pulumi.Output[str], policy: str) -> pulumi.Output[str]:
    return partition.apply(lambda p: f"arn:{p}:iam::aws:policy/{policy}")


def check_eks_cluster_args(args: EksClusterArgs) -> None:
    name = args.get("cluster_name")
    if (
        not isinstance(name, str)
        or not 1 <= len(name) <= 100
        or not name[0].isalnum()
        or not all(c.isalnum() or c in "-_" for c in name)
    ):
        raise InvalidArgumentError(
            f"cluster_name: {name!r} is not an EKS cluster name; expected 1-100 letters, digits, "
            "'-' and '_', starting with a letter or digit"
        )
    version = args.get("kubernetes_version")
    parts = version.split(".") if isinstance(version, str) else []
    if len(parts) != 2 or not all(part.isdigit() for part in parts):
        raise InvalidArgumentError(
            f"kubernetes_version: {version!r} is not a Kubernetes minor version; expected MAJOR.MINOR such as '1.33'"
        )
    instance_types = list(args.get("instance_types", DEFAULT_INSTANCE_TYPES))
    if not instance_types or not all(isinstance(t, str) and "." in t for t in instance_types):
        raise InvalidArgumentError(
            f"instance_types: {instance_types!r} is not accepted; expected a non-empty list such as ['t3.medium']"
        )
    min_size = check_int_range("min_size", args.get("min_size", 1), minimum=0, maximum=450)
    max_size = check_int_range("max_size", args.get("max_size", 3), minimum=1, maximum=450)
    desired = check_int_range("desired_size", args.get("desired_size", 2), minimum=0, maximum=450)
    if not min_size <= desired <= max_size:
        raise InvalidArgumentError(
            f"desired_size: {desired} is outside min_size..max_size ({min_size}..{max_size}); "
            "expected min_size <= desired_size <= max_size"
        )


class EksCluster(pulumi.ComponentResource):
    """EKS cluster using access entries (``API`` mode), its IAM roles and a managed node group."""

    issuer_url: pulumi.Output[str]
    """OIDC issuer of the cluster's service-account tokens."""
    issuer_host: pulumi.Output[str]
    """The issuer without ``https://``: the prefix of IRSA trust-policy condition keys."""
    cluster_name: pulumi.Output[str]
    """The cluster's name."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig (secret) using ``aws eks get-token``."""

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        check_eks_cluster_args(args)
        super().__init__(type_token("EksCluster"), name, None, opts)
        partition = get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition

        subnet_ids = args.get("subnet_ids")
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
            f"{name}-cluster", "eks", _CLUSTER_POLICIES, f"EKS control plane of {args['cluster_name']}", partition
        )
        cluster = eks.Cluster(
            name,
            eks.ClusterArgs(
                name=args["cluster_name"],
                version=args["kubernetes_version"],
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
                deletion_protection=args.get("deletion_protection", True),
            ),
            opts=child_opts(self, depends_on=cluster_attachments),
        )

        node_role, node_attachments = self._service_role(
            f"{name}-nodes", "ec2", _NODE_POLICIES, f"EKS nodes of {args['cluster_name']}", partition
        )
        eks.NodeGroup(
            f"{name}-nodes",
            eks.NodeGroupArgs(
                cluster_name=cluster.name,
                node_role_arn=node_role.arn,
                subnet_ids=subnet_ids,
                instance_types=list(args.get("instance_types", DEFAULT_INSTANCE_TYPES)),
                scaling_config=eks.NodeGroupScalingConfigArgs(
                    desired_size=args.get("desired_size", 2),
                    min_size=args.get("min_size", 1),
                    max_size=args.get("max_size", 3),
                ),
            ),
            opts=child_opts(self, depends_on=node_attachments),
        )

        self.cluster_name = cluster.name
        self.issuer_url = cluster.identities.apply(eks_issuer_from_identities)
        self.issuer_host = self.issuer_url.apply(lambda url: url.removeprefix("https://"))
        region = args.get("region")
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
                lambda parts: eks_kubeconfig(parts[0], parts[1], parts[2], region)
            )
        )
        self.kubernetes_provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, enable_server_side_apply=True, opts=child_opts(self)
        )
        self.register_outputs(
            {
                "issuer_url": self.issuer_url,
                "issuer_host": self.issuer_host,
                "cluster_name": self.cluster_name,
                "kubeconfig": self.kubeconfig,
            }
        )

    def _service_role(
        self, name: str, service: str, policies: Sequence[str], description: str, partition: pulumi.Output[str]
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
                policy_arn=aws_managed_policy_arn(partition, policy),
                opts=child_opts(self),
            )
            for policy in policies
        ]
        return role, attachments
