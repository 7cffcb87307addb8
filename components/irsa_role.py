"""An IAM role that only the named Kubernetes service accounts may assume (IRSA)."""

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
from pulumi_aws import iam

from components._common import (
    InvalidArgumentError,
    check_int_range,
    child_opts,
    resource_suffix,
    type_token,
    when_plain,
)
from components.eks_oidc_provider import STS_AUDIENCE
from components.pulumi_cloud_trust import check_issuer_url, service_account_subject

DEFAULT_TRUST_POLICY_LIMIT = 2048
"""IAM's default ACLSizePerRole quota, in characters of the policy without white space."""
_NAME_PATTERN = re.compile(r"^[a-z0-9*?]([-a-z0-9*?]*[a-z0-9*?])?$")
_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(aws|\d{12}):policy/[\w+=,.@/-]+$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
# The longest provider ARN and issuer an EKS cluster can have, used to size the trust policy
# before the real values exist (at preview, the issuer is not known yet).
_WORST_CASE_HOST = "oidc.eks.ap-southeast-4.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
_WORST_CASE_PROVIDER_ARN = f"arn:aws-us-gov:iam::123456789012:oidc-provider/{_WORST_CASE_HOST}"


class ServiceAccountRef(TypedDict):
    namespace: str
    """Namespace; ``*`` and ``?`` make it a pattern (matched with StringLike)."""
    name: str
    """Service account name; ``*`` and ``?`` make it a pattern."""


class IrsaRoleArgs(TypedDict):
    oidc_provider_arn: pulumi.Input[str]
    """ARN of the cluster's IAM OIDC provider."""
    issuer_url: pulumi.Input[str]
    """The cluster's issuer (``https://oidc.eks…``); its host prefixes the condition keys."""
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


def uses_wildcard(value: str) -> bool:
    return "*" in value or "?" in value


def irsa_trust_policy(
    oidc_provider_arn: str, issuer_host: str, subjects: Sequence[str], audience: str = STS_AUDIENCE
) -> dict[str, Any]:
    """Trust policy admitting ``subjects`` (``system:serviceaccount:NS:NAME``) with tokens for ``audience``.

    Both the subject and the audience are pinned. ``StringEquals`` compares ``*`` literally,
    so subjects that hold a wildcard are matched with ``StringLike`` instead.
    """
    subject_value: str | list[str] = subjects[0] if len(subjects) == 1 else list(subjects)
    conditions: dict[str, dict[str, Any]] = {"StringEquals": {f"{issuer_host}:aud": audience}}
    if any(uses_wildcard(subject) for subject in subjects):
        conditions["StringLike"] = {f"{issuer_host}:sub": subject_value}
    else:
        conditions["StringEquals"][f"{issuer_host}:sub"] = subject_value
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": conditions,
            }
        ],
    }


def policy_json(document: Mapping[str, Any]) -> str:
    """Compact JSON, as IAM counts policy size without white space."""
    return json.dumps(document, separators=(",", ":"))


def check_trust_policy_size(document_json: str, limit: int, subject_count: int) -> str:
    if len(document_json) > limit:
        raise InvalidArgumentError(
            f"service_accounts: the trust policy for {subject_count} service account(s) is "
            f"{len(document_json)} characters, over IAM's ACLSizePerRole quota of {limit}; expected fewer "
            "service accounts per role, a namespace pattern such as 'team-*', or max_trust_policy_size "
            "raised to the quota granted to the account"
        )
    return document_json


def check_service_accounts(key: str, refs: object) -> list[str]:
    """Validate the refs and return their subjects."""
    if not isinstance(refs, (list, tuple)) or not refs:
        raise InvalidArgumentError(f"{key}: {refs!r} is not accepted; expected a non-empty list of {{namespace, name}}")
    subjects = []
    for index, ref in enumerate(refs):
        if not isinstance(ref, Mapping):
            raise InvalidArgumentError(f"{key}[{index}]: {ref!r} is not a {{namespace, name}} mapping")
        for field in ("namespace", "name"):
            value = ref.get(field)
            if not isinstance(value, str) or len(value) > 63 or not _NAME_PATTERN.match(value):
                raise InvalidArgumentError(
                    f"{key}[{index}].{field}: {value!r} is not accepted; expected a DNS-1123 label, "
                    "optionally with '*' or '?' wildcards"
                )
        subjects.append(service_account_subject(ref["namespace"], ref["name"]))
    duplicates = sorted({s for s in subjects if subjects.count(s) > 1})
    if duplicates:
        raise InvalidArgumentError(f"{key}: {', '.join(duplicates)} listed twice; expected each once")
    return subjects


def check_policy_arn(key: str, arn: object) -> str:
    if not isinstance(arn, str) or not _POLICY_ARN.match(arn):
        raise InvalidArgumentError(
            f"{key}: {arn!r} is not a managed policy ARN; expected "
            "'arn:aws:iam::aws:policy/NAME' or 'arn:aws:iam::<account>:policy/NAME'"
        )
    return arn


class IrsaRole(pulumi.ComponentResource):
    """IAM role assumable through ``sts:AssumeRoleWithWebIdentity`` by named service accounts only."""

    arn: pulumi.Output[str]
    """Role ARN: the ``eks.amazonaws.com/role-arn`` annotation's value."""
    name: pulumi.Output[str]
    """Role name."""
    trust_policy: pulumi.Output[str]
    """The role's trust policy (JSON)."""

    def __init__(self, name: str, args: IrsaRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        subjects = check_service_accounts("service_accounts", args.get("service_accounts"))
        limit = check_int_range(
            "max_trust_policy_size", args.get("max_trust_policy_size", DEFAULT_TRUST_POLICY_LIMIT), minimum=2048
        )
        when_plain(args.get("issuer_url"), lambda v: check_issuer_url("issuer_url", v))
        policy_arns = list(args.get("managed_policy_arns") or [])
        for index, arn in enumerate(policy_arns):
            check_policy_arn(f"managed_policy_arns[{index}]", arn)
        if len(set(policy_arns)) != len(policy_arns):
            raise InvalidArgumentError(f"managed_policy_arns: {policy_arns!r} lists a policy twice")
        role_name = args.get("role_name")
        if role_name is not None and (not isinstance(role_name, str) or not _ROLE_NAME.match(role_name)):
            raise InvalidArgumentError(
                f"role_name: {role_name!r} is not an IAM role name; expected 1-64 of letters, digits and +=,.@_-"
            )
        # Sized now, with the longest issuer EKS can have: the real issuer is unknown at preview,
        # and an oversize policy would otherwise only fail at apply.
        check_trust_policy_size(
            policy_json(irsa_trust_policy(_WORST_CASE_PROVIDER_ARN, _WORST_CASE_HOST, subjects)), limit, len(subjects)
        )
        super().__init__(type_token("IrsaRole"), name, None, opts)

        trust_policy = pulumi.Output.all(args["oidc_provider_arn"], args["issuer_url"]).apply(
            lambda parts: check_trust_policy_size(
                policy_json(irsa_trust_policy(parts[0], parts[1].removeprefix("https://"), subjects)),
                limit,
                len(subjects),
            )
        )
        role = iam.Role(
            name,
            name=role_name,
            assume_role_policy=trust_policy,
            permissions_boundary=args.get("permissions_boundary"),
            description=f"IRSA for {', '.join(subjects)}"[:1000],
            opts=child_opts(self),
        )
        for arn in policy_arns:
            iam.RolePolicyAttachment(
                f"{name}-{resource_suffix(arn)}", role=role.name, policy_arn=arn, opts=child_opts(self)
            )
        self.arn = role.arn
        self.name = role.name
        self.trust_policy = trust_policy
        self.register_outputs({"arn": self.arn, "name": self.name, "trust_policy": self.trust_policy})
