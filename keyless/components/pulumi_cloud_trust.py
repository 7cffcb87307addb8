"""Register a cluster's OIDC issuer in Pulumi Cloud with one authorization policy per workload."""

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_pulumiservice as pulumiservice

from keyless.components._common import child_opts, lifted, validated
from keyless.core.naming import type_token
from keyless.core.pulumi_cloud import PULUMI_CLOUD_TRUST, PermissionLevel, TokenType, policy_rules, pulumi_audience


class WorkloadPolicy(TypedDict):
    """Who may exchange a token (a Kubernetes service account) and for which Pulumi token."""

    namespace: pulumi.Input[str]
    """Namespace of the workload's Kubernetes service account."""
    service_account: pulumi.Input[str]
    """Name of the workload's Kubernetes service account."""
    token_type: TokenType
    """Pulumi token the exchange yields: organization, team, personal or runner."""
    team_name: NotRequired[pulumi.Input[str]]
    """Team whose token is issued (token_type team)."""
    user_login: NotRequired[pulumi.Input[str]]
    """User whose token is issued (token_type personal)."""
    runner_id: NotRequired[pulumi.Input[str]]
    """Customer-managed deployment runner (token_type runner)."""
    authorized_permissions: NotRequired[pulumi.Input[Sequence[PermissionLevel]]]
    """Legacy organization-token permissions: admin and/or standard (token_type organization)."""
    role_id: NotRequired[pulumi.Input[str]]
    """Role of the organization token, instead of authorized_permissions."""


class PulumiCloudTrustArgs(TypedDict):
    organization: pulumi.Input[str]
    """Pulumi Cloud organization that trusts the issuer."""
    issuer_url: pulumi.Input[str]
    """The cluster's OIDC issuer, exactly as the tokens' ``iss`` claim, byte for byte (AKS issuers end with ``/``)."""
    issuer_name: pulumi.Input[str]
    """Display name of the issuer in Pulumi Cloud; unique within the organization."""
    workloads: Sequence[WorkloadPolicy]
    """One allow policy is declared for each workload; everything else stays denied."""
    max_expiration_seconds: NotRequired[pulumi.Input[int]]
    """Longest lifetime of an exchanged Pulumi token, in seconds (default 7200)."""
    pin_audience: NotRequired[bool]
    """Also require ``aud`` = ``urn:pulumi:org:<org>`` (default true: Pulumi documents ``aud`` rules,
    and a token minted for another audience, such as an IRSA token, is then refused). That such a
    rule matches Kubernetes' list-valued ``aud`` when one element does is assumed; false drops the
    rule, leaving ``sub`` and the namespace claim pinned."""


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
                lambda levels: [pulumiservice.AuthPolicyPermissionLevel(str(getattr(lv, "value", lv))) for lv in levels]
            )
        ),
    )


class PulumiCloudTrust(pulumi.ComponentResource):
    """Pulumi Cloud trusts a cluster's service-account tokens, for the listed workloads only."""

    issuer_id: pulumi.Output[str]
    """Pulumi Cloud's id of the registered issuer."""
    issuer_url: pulumi.Output[str]
    """The registered issuer URL."""
    audience: pulumi.Output[str]
    """Audience the workloads' projected tokens must carry: ``urn:pulumi:org:<org>``."""

    def __init__(self, name: str, args: PulumiCloudTrustArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        checked = validated(PULUMI_CLOUD_TRUST, args)
        super().__init__(type_token("PulumiCloudTrust"), name, None, opts)

        organization = checked["organization"]
        audience = lifted(pulumi_audience, organization)
        pinned = audience if checked["pin_audience"] else None
        policies = [
            authorization_policy(
                workload, lifted(policy_rules, workload["namespace"], workload["service_account"], pinned)
            )
            for workload in checked["workloads"]
        ]

        issuer = pulumiservice.OidcIssuer(
            name,
            pulumiservice.OidcIssuerArgs(
                organization=organization,
                name=checked["issuer_name"],
                url=checked["issuer_url"],
                max_expiration_seconds=checked["max_expiration_seconds"],
                policies=policies,
            ),
            # Pulumi Cloud computes the TLS thumbprints itself; a stale pinned one breaks the
            # exchange, and the server's values appear in state after a refresh.
            opts=child_opts(self, ignore_changes=["thumbprints"]),
        )

        self.issuer_id = issuer.id
        self.issuer_url = issuer.url
        self.audience = pulumi.Output.from_input(audience)
        self.register_outputs({"issuer_id": self.issuer_id, "issuer_url": self.issuer_url, "audience": self.audience})
