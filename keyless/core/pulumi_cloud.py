"""Pulumi Cloud's side of the exchange: audiences, subjects, claim paths, token types and policies.

Facts from Pulumi's OIDC issuer documentation (see ``docs/security.md``): a policy's ``rules``
map a claim path to a pattern; nested claims quote their dotted segment; each token type names
what it grants in one companion field; the CLI can request every type but ``runner``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from keyless.core import tenancy
from keyless.core.issuers import cluster_issuer
from keyless.core.problems import MISSING, UNKNOWN, Problem
from keyless.core.spec import Field, Keys, Spec, required
from keyless.core.values import (
    boolean,
    choice,
    dns1123_label,
    duration,
    duration_seconds,
    first,
    identifier,
    int_range,
    list_of,
    pattern,
    repeated,
    text,
)


class TokenType(StrEnum):
    """The Pulumi token an exchange yields."""

    ORGANIZATION = "organization"
    TEAM = "team"
    PERSONAL = "personal"
    RUNNER = "runner"


class PermissionLevel(StrEnum):
    """Legacy permissions of an organization token; Pulumi's API documents only ``admin`` here.
    The current model is a role (``role_id``)."""

    ADMIN = "admin"
    STANDARD = "standard"


TOKEN_COMPANIONS: dict[TokenType, tuple[str, ...]] = {
    # What each token type grants is named by exactly one of these policy fields.
    TokenType.ORGANIZATION: ("authorized_permissions", "role_id"),
    TokenType.TEAM: ("team_name",),
    TokenType.PERSONAL: ("user_login",),
    TokenType.RUNNER: ("runner_id",),
}
COMPANION_FIELDS = ("team_name", "user_login", "runner_id", "authorized_permissions", "role_id")
LOGIN_TOKEN_TYPES = (TokenType.ORGANIZATION, TokenType.TEAM, TokenType.PERSONAL)
"""Token types ``pulumi login --oidc-*`` can request; ``runner`` tokens are for deployment agents."""
LOGIN_FLAGS: dict[TokenType, tuple[str, str] | None] = {
    # The CLI asks for an organization token unless told a team or a user.
    TokenType.ORGANIZATION: None,
    TokenType.TEAM: ("team_name", "--oidc-team"),
    TokenType.PERSONAL: ("user_login", "--oidc-user"),
}

DEFAULT_MAX_EXPIRATION_SECONDS = 7200
"""The longest exchanged token an issuer registered here allows, and the cap the guardrail
``issuer-token-lifetime-capped`` holds every issuer to: one rule, so that the config never accepts
what the policy pack refuses. (Pulumi Cloud's own default and ceiling is 25 hours.)"""
MIN_EXPIRATION_SECONDS = 300
SUBJECT_CLAIM = "sub"
AUDIENCE_CLAIM = "aud"
NAMESPACE_CLAIM = '"kubernetes.io".namespace'
SERVICE_ACCOUNT_CLAIM = '"kubernetes.io".serviceaccount.name'


def _at_least_the_minimum(key: str, value: Any) -> list[Problem]:
    seconds = duration_seconds(value)
    if seconds is not None and seconds < MIN_EXPIRATION_SECONDS:
        return [
            Problem(
                key,
                value,
                f"({seconds}s) is shorter than any token an issuer grants",
                f"at least {MIN_EXPIRATION_SECONDS // 60}m",
            )
        ]
    return []


token_lifetime = first(duration, _at_least_the_minimum)
"""The lifetime of an exchanged Pulumi token: a duration no shorter than an issuer's minimum."""


def pulumi_audience(organization: str) -> str:
    """The audience Pulumi Cloud expects in tokens exchanged for ``organization``."""
    return f"urn:pulumi:org:{organization}"


def service_account_subject(namespace: str, service_account: str) -> str:
    """The ``sub`` claim of a Kubernetes service account's tokens."""
    return f"system:serviceaccount:{namespace}:{service_account}"


def subject_account(subject: Any) -> tuple[str, str] | None:
    """The namespace and service account a ``system:serviceaccount:NS:NAME`` subject names."""
    if isinstance(subject, str) and subject.startswith("system:serviceaccount:") and subject.count(":") == 3:
        namespace, name = subject.split(":")[2:]
        return namespace, name
    return None


def policy_rules(namespace: str, service_account: str, audience: str | None = None) -> dict[str, str]:
    """Claims a token must carry to be exchanged: its subject and namespace, optionally its audience."""
    rules = {
        SUBJECT_CLAIM: service_account_subject(namespace, service_account),
        NAMESPACE_CLAIM: namespace,
        SERVICE_ACCOUNT_CLAIM: service_account,
    }
    if audience is not None:
        rules[AUDIENCE_CLAIM] = audience
    return rules


STATIC_TOKEN_VARIABLES = ("PULUMI_ACCESS_TOKEN", "PULUMI_AGENT_TOKEN")
"""Environment variables that carry a stored Pulumi token: what keyless access replaces."""


def looks_like_pulumi_token(value: Any) -> bool:
    """A Pulumi access token's shape: ``pul-`` and a long hex tail."""
    return isinstance(value, str) and value.startswith("pul-") and len(value) >= 24


def pins_subject(rules: Mapping[str, Any]) -> bool:
    """A policy admits one service account: ``sub`` exactly, or both the namespace and the
    service-account claims exactly (no ``*`` or ``?``: DNS labels hold no ``.`` to widen them)."""

    def exact(path: str) -> bool:
        value = rules.get(path)
        return isinstance(value, str) and bool(value) and "*" not in value and "?" not in value

    return exact(SUBJECT_CLAIM) or (exact(NAMESPACE_CLAIM) and exact(SERVICE_ACCOUNT_CLAIM))


def issuer_url(key: str, value: Any) -> list[Problem]:
    """An issuer is the tokens' ``iss``, byte for byte, so it is kept exactly as given: only what
    cannot be an issuer is refused. A trailing ``/`` is kept (AKS issuers end with one; GKE and
    EKS issuers do not)."""
    if (
        not isinstance(value, str)
        or not value.startswith("https://")
        or not value[len("https://") :].split("/", 1)[0]
        or any(c in value for c in "?#")
        or any(c.isspace() for c in value)
    ):
        return [
            Problem(
                key,
                value,
                "is not an OIDC issuer URL",
                "the exact 'iss' claim of the cluster's tokens: 'https://<host>[/path]', with no query, "
                "fragment or white space",
            )
        ]
    return []


cluster_issuer_url = first(issuer_url, cluster_issuer)
"""An issuer URL given for a cluster: an issuer, shaped as its cloud's tokens carry it (see
:mod:`keyless.core.issuers`)."""

organization_name = first(
    text,
    pattern(
        r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}",
        "a Pulumi organization name",
        "letters, digits, '-', '_' and '.', starting with a letter or digit (the name in app.pulumi.com/<org>)",
    ),
)


def _token_companions(values: Mapping[str, Any], keys: Keys) -> list[Problem]:
    token_type = values.get("token_type")
    if token_type in (None, UNKNOWN):
        return []
    allowed = TOKEN_COMPANIONS[TokenType(token_type)]
    given = [name for name in COMPANION_FIELDS if values.get(name) is not None]
    stray = [name for name in given if name not in allowed]
    present = [name for name in given if name in allowed]
    if stray:
        return [
            Problem(
                keys.here,
                MISSING,
                f"{', '.join(keys.names(stray))} does not apply to {keys.name('token_type')} {token_type!r}",
                f"that token type takes {' or '.join(keys.names(allowed))}",
            )
        ]
    if len(present) != 1:
        needs = "exactly one of " + " or ".join(keys.names(allowed)) if len(allowed) > 1 else keys.name(allowed[0])
        return [
            Problem(
                keys.here,
                MISSING,
                f"{keys.name('token_type')} {token_type!r} needs {needs}; got {', '.join(keys.names(present)) or 'none'}",
            )
        ]
    return []


WORKLOAD_POLICY = Spec(
    "WorkloadPolicy",
    {
        "namespace": required(dns1123_label),
        "service_account": required(first(dns1123_label, tenancy.not_default)),
        "token_type": required(choice(TokenType)),
        "team_name": Field(identifier),
        "user_login": Field(identifier),
        "runner_id": Field(identifier),
        "authorized_permissions": Field(list_of(choice(PermissionLevel), allow_empty=False), kind="list"),
        "role_id": Field(identifier),
    },
    (_token_companions,),
)
"""Who may exchange a token (a Kubernetes service account) and for which Pulumi token."""


def unique_service_accounts(field: str) -> Any:
    """A cross rule: each namespace/service account appears once in the list ``field``."""

    def rule(values: Mapping[str, Any], keys: Keys) -> list[Problem]:
        items = values.get(field) or []
        if items is UNKNOWN:
            return []
        pairs = []
        for index, item in enumerate(items):
            if not isinstance(item, Mapping):
                continue
            pair = (item.get("namespace"), item.get("service_account"))
            if all(isinstance(part, str) for part in pair):
                pairs.append((f"{keys.of(field)}[{index}]", f"{pair[0]}/{pair[1]}"))
        what = f"namespace/{keys.name('service_account')}"
        return repeated(pairs, what, "each service account once")

    return rule


def _workloads_given(values: Mapping[str, Any], keys: Keys) -> list[Problem]:
    if values.get("workloads") == []:
        return [
            Problem(
                keys.of("workloads"),
                [],
                "is empty",
                "at least one workload: a new issuer denies every token, so an issuer without policies "
                "would trust nobody",
            )
        ]
    return []


PULUMI_CLOUD_TRUST = Spec(
    "PulumiCloudTrust",
    {
        "organization": required(organization_name),
        "issuer_url": required(cluster_issuer_url),
        "issuer_name": required(text),
        "workloads": required(kind="objects", spec=WORKLOAD_POLICY),
        "max_expiration_seconds": Field(
            int_range(MIN_EXPIRATION_SECONDS, DEFAULT_MAX_EXPIRATION_SECONDS), DEFAULT_MAX_EXPIRATION_SECONDS, "int"
        ),
        "pin_audience": Field(boolean, True, "bool"),
    },
    (_workloads_given, unique_service_accounts("workloads")),
)
