"""Register a cluster's OIDC issuer in Pulumi Cloud with one authorization policy per workload."""

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_pulumiservice as pulumiservice

from components._common import (
    InvalidArgumentError,
    check_choice,
    check_dns1123_label,
    check_int_range,
    check_non_empty,
    child_opts,
    type_token,
    when_plain,
)

TOKEN_TYPES = ("organization", "team", "personal", "runner")
PERMISSION_LEVELS = ("admin", "standard")
DEFAULT_MAX_EXPIRATION_SECONDS = 7200
MAX_EXPIRATION_LIMIT_SECONDS = 90_000
"""Pulumi Cloud's own default (and ceiling) for exchanged tokens: 25 hours."""

_COMPANION_FIELDS = ("team_name", "user_login", "runner_id", "authorized_permissions", "role_id")
TOKEN_COMPANIONS: dict[str, tuple[str, ...]] = {
    # token type -> the policy fields that name what it grants (organization: either one)
    "organization": ("authorized_permissions", "role_id"),
    "team": ("team_name",),
    "personal": ("user_login",),
    "runner": ("runner_id",),
}


class WorkloadPolicy(TypedDict):
    """Who may exchange a token (a Kubernetes service account) and for which Pulumi token."""

    namespace: pulumi.Input[str]
    """Namespace of the workload's Kubernetes service account."""
    service_account: pulumi.Input[str]
    """Name of the workload's Kubernetes service account."""
    token_type: str
    """Pulumi token the exchange yields: organization, team, personal or runner."""
    team_name: NotRequired[pulumi.Input[str]]
    """Team whose token is issued (token_type team)."""
    user_login: NotRequired[pulumi.Input[str]]
    """User whose token is issued (token_type personal)."""
    runner_id: NotRequired[pulumi.Input[str]]
    """Customer-managed deployment runner (token_type runner)."""
    authorized_permissions: NotRequired[pulumi.Input[Sequence[str]]]
    """Organization token permissions: admin and/or standard (token_type organization)."""
    role_id: NotRequired[pulumi.Input[str]]
    """Custom role of the organization token, instead of authorized_permissions."""


class PulumiCloudTrustArgs(TypedDict):
    organization: pulumi.Input[str]
    """Pulumi Cloud organization that trusts the issuer."""
    issuer_url: pulumi.Input[str]
    """The cluster's OIDC issuer, exactly as the tokens' ``iss`` claim (no trailing slash)."""
    issuer_name: pulumi.Input[str]
    """Display name of the issuer in Pulumi Cloud; unique within the organization."""
    workloads: Sequence[WorkloadPolicy]
    """One allow policy is declared for each workload; everything else stays denied."""
    max_expiration_seconds: NotRequired[pulumi.Input[int]]
    """Longest lifetime of an exchanged Pulumi token, in seconds (default 7200)."""
    pin_audience: NotRequired[bool]
    """Also require ``aud`` = ``urn:pulumi:org:<org>``. Off by default: matching a list-valued
    ``aud`` claim is unverified, while ``sub`` and the namespace claim are always pinned."""


def pulumi_audience(organization: str) -> str:
    """The audience Pulumi Cloud expects in tokens exchanged for ``organization``."""
    return f"urn:pulumi:org:{organization}"


def service_account_subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


def check_issuer_url(key: str, url: object) -> str:
    if not isinstance(url, str) or not url.startswith("https://") or url.endswith("/") or len(url) <= 8:
        raise InvalidArgumentError(
            f"{key}: {url!r} is not an OIDC issuer URL; expected the exact 'iss' claim of the "
            "cluster's tokens: 'https://…' with no trailing slash"
        )
    return url


def policy_rules(namespace: str, service_account: str, audience: str | None = None) -> dict[str, str]:
    """Claims a token must carry to be exchanged: its subject and namespace, optionally its audience."""
    rules = {
        "sub": service_account_subject(namespace, service_account),
        '"kubernetes.io".namespace': namespace,
        '"kubernetes.io".serviceaccount.name': service_account,
    }
    if audience is not None:
        rules["aud"] = audience
    return rules


def check_workload_policy(key: str, workload: Mapping[str, Any]) -> None:
    """Reject a workload whose token type lacks its companion or carries another type's fields."""
    when_plain(workload.get("namespace"), lambda v: check_dns1123_label(f"{key}.namespace", v))
    when_plain(workload.get("service_account"), lambda v: check_dns1123_label(f"{key}.service_account", v))
    token_type = check_choice(f"{key}.token_type", workload.get("token_type"), TOKEN_TYPES)
    allowed = TOKEN_COMPANIONS[token_type]
    given = [field for field in _COMPANION_FIELDS if workload.get(field) is not None]
    stray = [field for field in given if field not in allowed]
    if stray:
        raise InvalidArgumentError(
            f"{key}: {', '.join(stray)} does not apply to token_type {token_type!r}; "
            f"that token type takes {' or '.join(allowed)}"
        )
    present = [field for field in given if field in allowed]
    if token_type == "organization":
        if len(present) != 1:
            raise InvalidArgumentError(
                f"{key}: token_type 'organization' needs exactly one of authorized_permissions "
                f"(any of: {', '.join(PERMISSION_LEVELS)}) or role_id; got {present or 'neither'}"
            )
        permissions = workload.get("authorized_permissions")
        if isinstance(permissions, (list, tuple)):
            if not permissions:
                raise InvalidArgumentError(
                    f"{key}.authorized_permissions: [] is empty; expected any of: {', '.join(PERMISSION_LEVELS)}"
                )
            for index, level in enumerate(permissions):
                check_choice(f"{key}.authorized_permissions[{index}]", level, PERMISSION_LEVELS)
    elif not present:
        raise InvalidArgumentError(f"{key}: token_type {token_type!r} needs {allowed[0]}; it is missing")
    else:
        when_plain(workload.get(allowed[0]), lambda v: check_non_empty(f"{key}.{allowed[0]}", v))


def authorization_policy(
    workload: Mapping[str, Any], rules: pulumi.Input[Mapping[str, str]]
) -> pulumiservice.AuthPolicyDefinitionArgs:
    """An allow policy granting the workload's token type when ``rules`` match."""
    permissions = workload.get("authorized_permissions")
    return pulumiservice.AuthPolicyDefinitionArgs(
        decision=pulumiservice.AuthPolicyDecision.ALLOW,
        token_type=pulumiservice.AuthPolicyTokenType(workload["token_type"]),
        rules=rules,
        team_name=workload.get("team_name"),
        user_login=workload.get("user_login"),
        runner_id=workload.get("runner_id"),
        role_id=workload.get("role_id"),
        authorized_permissions=(
            None
            if permissions is None
            else pulumi.Output.from_input(permissions).apply(
                lambda levels: [pulumiservice.AuthPolicyPermissionLevel(level) for level in levels]
            )
        ),
    )


def _check_subjects_unique(workloads: Sequence[Mapping[str, Any]]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for index, workload in enumerate(workloads):
        pair = (workload.get("namespace"), workload.get("service_account"))
        if not all(isinstance(part, str) for part in pair):
            continue
        if pair in seen:
            raise InvalidArgumentError(
                f"workloads[{index}]: namespace/service_account {pair[0]}/{pair[1]} repeats "
                f"workloads[{seen[pair]}]; expected each service account once"
            )
        seen[pair] = index  # type: ignore[index]


class PulumiCloudTrust(pulumi.ComponentResource):
    """Pulumi Cloud trusts a cluster's service-account tokens, for the listed workloads only."""

    issuer_id: pulumi.Output[str]
    """Pulumi Cloud's id of the registered issuer."""
    issuer_url: pulumi.Output[str]
    """The registered issuer URL."""
    audience: pulumi.Output[str]
    """Audience the workloads' projected tokens must carry: ``urn:pulumi:org:<org>``."""

    def __init__(self, name: str, args: PulumiCloudTrustArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        workloads = list(args.get("workloads") or [])
        if not workloads:
            raise InvalidArgumentError(
                "workloads: [] is empty; expected at least one workload: a new issuer denies every token, "
                "so an issuer without policies would trust nobody"
            )
        for index, workload in enumerate(workloads):
            check_workload_policy(f"workloads[{index}]", workload)
        _check_subjects_unique(workloads)
        when_plain(args.get("organization"), lambda v: check_non_empty("organization", v))
        when_plain(args.get("issuer_url"), lambda v: check_issuer_url("issuer_url", v))
        max_expiration = args.get("max_expiration_seconds", DEFAULT_MAX_EXPIRATION_SECONDS)
        when_plain(
            max_expiration,
            lambda v: check_int_range("max_expiration_seconds", v, minimum=300, maximum=MAX_EXPIRATION_LIMIT_SECONDS),
        )

        super().__init__(type_token("PulumiCloudTrust"), name, None, opts)

        organization = pulumi.Output.from_input(args["organization"])
        audience = organization.apply(pulumi_audience)
        pin_audience = bool(args.get("pin_audience", False))
        policies = []
        for workload in workloads:
            rules = pulumi.Output.all(workload["namespace"], workload["service_account"], audience).apply(
                lambda parts: policy_rules(parts[0], parts[1], parts[2] if pin_audience else None)
            )
            policies.append(authorization_policy(workload, rules))

        issuer_url = pulumi.Output.from_input(args["issuer_url"]).apply(lambda url: check_issuer_url("issuer_url", url))
        issuer = pulumiservice.OidcIssuer(
            name,
            pulumiservice.OidcIssuerArgs(
                organization=organization,
                name=args["issuer_name"],
                url=issuer_url,
                max_expiration_seconds=max_expiration,
                policies=policies,
            ),
            # Pulumi Cloud computes the TLS thumbprints itself; a stale pinned one breaks the
            # exchange, and the server's values appear in state after a refresh.
            opts=child_opts(self, ignore_changes=["thumbprints"]),
        )

        self.issuer_id = issuer.id
        self.issuer_url = issuer.url
        self.audience = audience
        self.register_outputs({"issuer_id": self.issuer_id, "issuer_url": self.issuer_url, "audience": self.audience})
