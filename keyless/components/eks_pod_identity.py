"""An IAM role one Kubernetes service account gets through EKS Pod Identity (no OIDC provider)."""

from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi
from pulumi_aws import eks, iam

from keyless.components._common import aliases, child_opts, validated
from keyless.core.aws import EKS_POD_IDENTITY, pod_identity_trust_policy, policy_json
from keyless.core.naming import child_names, type_token


class EksPodIdentityArgs(TypedDict):
    cluster_name: pulumi.Input[str]
    """Name of the cluster; it must run the eks-pod-identity-agent add-on."""
    cluster_arn: pulumi.Input[str]
    """ARN of the cluster; the trust policy admits sessions tagged with it only."""
    namespace: pulumi.Input[str]
    """Namespace of the Kubernetes service account."""
    service_account: pulumi.Input[str]
    """Name of the Kubernetes service account."""
    managed_policy_arns: NotRequired[Sequence[str]]
    """Managed policies attached to the role."""
    permissions_boundary: NotRequired[pulumi.Input[str]]
    """ARN of a managed policy bounding the role's permissions."""
    role_name: NotRequired[str]
    """Role name (default: generated from the resource name)."""
    session_tags: NotRequired[bool]
    """Keep EKS's session tags (default true): the trust policy pins the cluster, namespace and
    service account through them. False disables the tags and those conditions, so only the
    association scopes the role."""


class EksPodIdentity(pulumi.ComponentResource):
    """IAM role trusting ``pods.eks.amazonaws.com`` for one service account, and its association."""

    role_arn: pulumi.Output[str]
    """ARN of the role the pods receive credentials for."""
    trust_policy: pulumi.Output[str]
    """The role's trust policy (JSON)."""
    association_id: pulumi.Output[str]
    """Id of the Pod Identity association."""

    def __init__(self, name: str, args: EksPodIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        checked = validated(EKS_POD_IDENTITY, args)
        super().__init__(type_token("EksPodIdentity"), name, None, opts)

        session_tags = bool(checked["session_tags"])
        trust_policy = pulumi.Output.all(
            checked["cluster_arn"], checked["namespace"], checked["service_account"]
        ).apply(lambda parts: policy_json(pod_identity_trust_policy(parts[0], parts[1], parts[2], session_tags)))
        role = iam.Role(
            name,
            name=checked["role_name"],
            assume_role_policy=trust_policy,
            permissions_boundary=checked["permissions_boundary"],
            description=pulumi.Output.concat(
                "EKS Pod Identity for ", checked["namespace"], "/", checked["service_account"]
            ),
            opts=child_opts(self),
        )
        arns = list(checked["managed_policy_arns"])
        for arn, (child, earlier) in zip(arns, child_names(name, arns), strict=True):
            iam.RolePolicyAttachment(
                child, role=role.name, policy_arn=arn, opts=child_opts(self, aliases=aliases(earlier))
            )
        association = eks.PodIdentityAssociation(
            name,
            eks.PodIdentityAssociationArgs(
                cluster_name=checked["cluster_name"],
                namespace=checked["namespace"],
                service_account=checked["service_account"],
                role_arn=role.arn,
                disable_session_tags=None if session_tags else True,
            ),
            opts=child_opts(self),
        )
        self.role_arn = role.arn
        self.trust_policy = trust_policy
        self.association_id = association.id
        self.register_outputs(
            {"role_arn": self.role_arn, "trust_policy": self.trust_policy, "association_id": self.association_id}
        )
