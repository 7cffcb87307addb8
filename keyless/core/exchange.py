"""What Pulumi Cloud does with a token exchange, as far as its documentation says.

An issuer's policy ``rules`` map a claim path to a value pattern. A top-level claim is a plain
key (``sub``); a nested one quotes its dotted segment (``"kubernetes.io".namespace``): an
unquoted ``kubernetes.io.namespace`` walks ``kubernetes`` → ``io`` → ``namespace`` and never
matches. In a pattern ``*`` matches zero or more characters, ``?`` zero or one, and ``.`` exactly
one, so a literal dot in a value is itself a wildcard. A policy matches when every rule does; a
matching deny policy refuses the exchange whatever else matches. An allow policy grants its
token type only: the CLI asks for an organization token unless given ``--oidc-team`` or
``--oidc-user``, and cannot ask for a runner token at all.

Whether a rule matches a list-valued claim (Kubernetes' ``aud``) element by element is not
documented; :func:`claim_matches` assumes it does and says so in :attr:`RuleResult.assumed`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from keyless.core.problems import MISSING, Problem
from keyless.core.pulumi_cloud import NAMESPACE_CLAIM, SERVICE_ACCOUNT_CLAIM, SUBJECT_CLAIM, subject_account


def claim_path(path: str) -> list[str]:
    """The segments of a rule's claim path: dots split it, double quotes keep a segment whole."""
    segments: list[str] = []
    current = ""
    quoted = False
    for char in path:
        if char == '"':
            quoted = not quoted
        elif char == "." and not quoted:
            segments.append(current)
            current = ""
        else:
            current += char
    segments.append(current)
    return segments


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The claim a rule's path names, or :data:`MISSING`."""
    value: Any = claims
    for segment in claim_path(path):
        if not isinstance(value, Mapping) or segment not in value:
            return MISSING
        value = value[segment]
    return value


def unquoted_nested_paths(rules: Mapping[str, Any]) -> list[str]:
    """Rule paths that look nested but are not quoted, such as ``kubernetes.io.namespace``."""
    return [path for path in rules if '"' not in path and "." in path]


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    translated = {"*": ".*", "?": ".?", ".": "."}
    return re.compile("".join(translated.get(char, re.escape(char)) for char in pattern), re.DOTALL)


def value_matches(pattern: str, value: str) -> bool:
    """Pulumi Cloud's pattern match: ``*`` zero or more, ``?`` zero or one, ``.`` exactly one character."""
    return _compiled(pattern).fullmatch(value) is not None


@dataclass(frozen=True)
class RuleResult:
    path: str
    pattern: str
    value: Any
    matched: bool
    assumed: str = ""
    """Set when the result rests on an undocumented behaviour (a list-valued claim)."""


def claim_matches(claims: Mapping[str, Any], path: str, pattern: Any) -> RuleResult:
    value = claim_at(claims, path)
    expected = str(pattern)
    if value is MISSING:
        return RuleResult(path, expected, value, False)
    if isinstance(value, list):
        matched = any(value_matches(expected, str(item)) for item in value)
        return RuleResult(path, expected, value, matched, "a rule matches a list-valued claim if any element does")
    if isinstance(value, (dict, bool)) or value is None:
        return RuleResult(path, expected, value, False)
    return RuleResult(path, expected, value, value_matches(expected, str(value)))


@dataclass(frozen=True)
class Request:
    """What the exchange asks for: the token type (and team or user) and the lifetime."""

    token_type: str = "organization"
    team: str | None = None
    user: str | None = None
    lifetime_seconds: int | None = None


@dataclass(frozen=True)
class PolicyResult:
    index: int
    policy: Mapping[str, Any]
    rules: list[RuleResult]

    @property
    def matched(self) -> bool:
        """Every rule matches; a policy with no rules matches every token (assumed: undocumented)."""
        return all(rule.matched for rule in self.rules)

    @property
    def decision(self) -> str:
        return str(self.policy.get("decision", "allow"))

    @property
    def token_type(self) -> str:
        return str(self.policy.get("tokenType", ""))

    def grants(self, request: Request) -> bool:
        """An allow policy grants exactly its token type (and its team or user)."""
        if self.token_type != request.token_type:
            return False
        if self.token_type == "team":
            # Team scopes take the same wildcards as rule values (Pulumi's OIDC issuers page).
            team = self.policy.get("teamName")
            return isinstance(team, str) and isinstance(request.team, str) and value_matches(team, request.team)
        if self.token_type == "personal":
            return self.policy.get("userLogin") == request.user
        return True


@dataclass(frozen=True)
class Evaluation:
    results: list[PolicyResult] = field(default_factory=list)

    @property
    def denying(self) -> list[PolicyResult]:
        return [r for r in self.results if r.matched and r.decision == "deny"]

    @property
    def allowing(self) -> list[PolicyResult]:
        return [r for r in self.results if r.matched and r.decision == "allow"]

    def nearest(self) -> PolicyResult | None:
        """The allow policy with the most matching rules (ties: the first), for a useful refusal."""
        allows = [r for r in self.results if r.decision == "allow" and r.rules]
        if not allows:
            return None
        return max(allows, key=lambda r: (sum(rule.matched for rule in r.rules), -r.index))


def evaluate(policies: Sequence[Mapping[str, Any]], claims: Mapping[str, Any]) -> Evaluation:
    """Each policy's rules against the claims (policies in wire form: ``tokenType``, ``rules``…)."""
    results = []
    for index, policy in enumerate(policies):
        rules = policy.get("rules") or {}
        results.append(
            PolicyResult(index, policy, [claim_matches(claims, path, pattern) for path, pattern in rules.items()])
        )
    return Evaluation(results)


def pinned_account(rules: Mapping[str, Any]) -> tuple[str, str] | None:
    """The namespace and service account a policy's rules name: the two claims, else ``sub``."""
    namespace, name = rules.get(NAMESPACE_CLAIM), rules.get(SERVICE_ACCOUNT_CLAIM)
    if isinstance(namespace, str) and isinstance(name, str):
        return namespace, name
    return subject_account(rules.get(SUBJECT_CLAIM))


def describe_policy(policy: Mapping[str, Any]) -> str:
    """A policy as a reader would name it: the namespace/service account its rules pin, if any."""
    rules = policy.get("rules") or {}
    namespace, account = rules.get(NAMESPACE_CLAIM), rules.get(SERVICE_ACCOUNT_CLAIM)
    if namespace and account:
        return f"{namespace}/{account}"
    subject = rules.get(SUBJECT_CLAIM)
    return str(subject) if subject else "with rules " + ", ".join(sorted(rules))


def empty_rules(key: str, policy: Mapping[str, Any]) -> list[Problem]:
    """An allow policy with no rules would admit every token the issuer signs: refuse it."""
    if policy.get("decision", "allow") == "allow" and not policy.get("rules"):
        return [
            Problem(
                key,
                MISSING,
                "is an allow policy with no rules, which admits every token the issuer signs",
                "rules that pin sub, or both the namespace and service-account claims",
            )
        ]
    return []
