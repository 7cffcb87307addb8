"""An IAM role that only the named Kubernetes service accounts may assume (IRSA)."""

from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi
from pulumi_aws import iam

from keyless.components._common import aliases, child_opts, validated
from keyless.core.aws import (
    IRSA_ROLE,
    irsa_trust_policy,
    policy_json,
    provider_issuer_host,
    same_issuer,
    subjects_of,
    trust_policy_size,
)
from keyless.core.naming import child_names, type_token
from keyless.core.problems import raise_problems


class ServiceAccountRef(TypedDict):
    namespace: str
    """Namespace; ``*`` and ``?`` make it a pattern (matched with StringLike)."""
    name: str
    """Service account name; ``*`` and ``?`` make it a pattern."""


class IrsaRoleArgs(TypedDict):
    oidc_provider_arn: pulumi.Input[str]
    """ARN of the cluster's IAM OIDC provider."""
    issuer_url: NotRequired[pulumi.Input[str]]
    """The cluster's issuer (``https://oidc.eks…``), to check it is the one the provider names; the
    condition keys are always derived from ``oidc_provider_arn``."""
    service_accounts: Sequence[ServiceAccountRef]
    """The only service accounts that may assume the role."""
    managed_policy_arns: NotRequired[Sequence[str]]
    """Managed policies attached to the role."""
    permissions_boundary: NotRequired[pulumi.Input[str]]
    """ARN of a managed policy bounding the role's permissions."""
    role_name: NotRequired[str]
    """Role name (default: generated from the resource name)."""
    max_trust_policy_size: NotRequired[int]
    """The account's ACLSizePerRole quota, if it was raised (default 2048)."""


class IrsaRole(pulumi.ComponentResource):
    """IAM role assumable through ``sts:AssumeRoleWithWebIdentity`` by named service accounts only."""

    arn: pulumi.Output[str]
    """Role ARN: the ``eks.amazonaws.com/role-arn`` annotation's value."""
    name: pulumi.Output[str]
    """Role name."""
    trust_policy: pulumi.Output[str]
    """The role's trust policy (JSON)."""

    def __init__(self, name: str, args: IrsaRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        checked = validated(IRSA_ROLE, args)
        subjects = subjects_of(checked["service_accounts"])
        limit = checked["max_trust_policy_size"]
        super().__init__(type_token("IrsaRole"), name, None, opts)

        def trust_document(parts: list[str | None]) -> str:
            provider_arn, issuer = str(parts[0]), parts[1]
            raise_problems(same_issuer("oidc_provider_arn", provider_arn, "issuer_url", issuer))
            document = policy_json(irsa_trust_policy(provider_arn, provider_issuer_host(provider_arn), subjects))
            raise_problems(trust_policy_size("service_accounts", document, limit, len(subjects)))
            return document

        trust_policy = pulumi.Output.all(checked["oidc_provider_arn"], checked["issuer_url"]).apply(trust_document)
        role = iam.Role(
            name,
            name=checked["role_name"],
            assume_role_policy=trust_policy,
            permissions_boundary=checked["permissions_boundary"],
            description=f"IRSA for {', '.join(subjects)}"[:1000],
            opts=child_opts(self),
        )
        arns = list(checked["managed_policy_arns"])
        for arn, (child, earlier) in zip(arns, child_names(name, arns), strict=True):
            iam.RolePolicyAttachment(
                child, role=role.name, policy_arn=arn, opts=child_opts(self, aliases=aliases(earlier))
            )
        self.arn = role.arn
        self.name = role.name
        self.trust_policy = trust_policy
        self.register_outputs({"arn": self.arn, "name": self.name, "trust_policy": self.trust_policy})
