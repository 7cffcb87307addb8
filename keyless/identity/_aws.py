"""What the EKS modes share: their workload fields, and how the access map reads their grants."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from keyless.core import aws
from keyless.core.spec import Field
from keyless.core.values import list_of
from keyless.record import Registration

ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"

FIELDS = {
    "aws_managed_policy_arns": Field(
        list_of(aws.policy_arn), (), "list", doc="EKS: managed policies attached to the workload's IAM role."
    ),
    "aws_permissions_boundary": Field(aws.policy_arn, doc="EKS: permissions boundary of the workload's IAM role."),
}


def role_args(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The role's permissions, as IrsaRole and EksPodIdentity take them."""
    args: dict[str, Any] = {"managed_policy_arns": list(settings.get("aws_managed_policy_arns") or ())}
    if settings.get("aws_permissions_boundary") is not None:
        args["permissions_boundary"] = settings["aws_permissions_boundary"]
    return args


def grants(registrations: Sequence[Registration], role_arn: str) -> tuple[str, ...]:
    """The managed policies attached to the role with ``role_arn``."""
    names = {r.state.get("arn"): r.state.get("name") for r in registrations if r.type == ROLE}
    name = names.get(role_arn)
    return tuple(
        str(r.plain_inputs.get("policyArn"))
        for r in registrations
        if r.type == ATTACHMENT and name is not None and r.plain_inputs.get("role") == name
    )
