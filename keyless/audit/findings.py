"""What differs between what Pulumi Cloud holds and what the stacks declare.

The stack's side is what its ``PulumiCloudTrust`` registers (:mod:`keyless.doctor.reference`): its
issuer's URL (or, for EKS and AKS, its shape and display name) and its policies in wire form. The
live side is :class:`~keyless.audit.live.Organization`. A policy is the same when every field but
an order-free list is equal; a pool the stack creates stands for whatever pool id is live.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from keyless.audit.live import LiveIssuer, Organization
from keyless.core.exchange import describe_policy, pinned_account
from keyless.core.pulumi_cloud import pins_subject

DEFAULT_UNUSED_DAYS = 90


class Code(StrEnum):
    ISSUER_NOT_REGISTERED = "issuer-not-registered"
    ISSUER_AMBIGUOUS = "issuer-ambiguous"
    POLICY_NOT_REGISTERED = "policy-not-registered"
    POLICY_NOT_DECLARED = "policy-not-declared"
    POLICY_DRIFTED = "policy-drifted"
    LIFETIME_ABOVE_THE_STACKS = "lifetime-above-the-stacks"
    RULE_PINS_NO_SUBJECT = "rule-pins-no-subject"
    ISSUER_UNMANAGED = "issuer-unmanaged"
    ISSUER_UNUSED = "issuer-unused"


@dataclass(frozen=True)
class Finding:
    code: Code
    issuer: str
    """The live issuer it is about: its name and id (or the stack's issuer's name when none is live)."""
    message: str


@dataclass(frozen=True)
class Declared:
    """A stack's issuer, as its config gives it."""

    stack: str
    organization: str
    name: str
    url: str | None
    """Exact when the config determines it; else ``matches`` tells an issuer of the stack's shape."""
    max_expiration_seconds: int
    policies: tuple[Mapping[str, Any], ...]
    matches_shape: Any = None
    """``(url) -> bool`` when only the URL's shape is known (EKS, AKS)."""
    stand_ins: frozenset[str] = frozenset()
    """Runner ids that stand for a pool the stack creates (any live id matches them)."""

    def is_this(self, issuer: LiveIssuer) -> bool:
        if self.url is not None:
            return issuer.url == self.url
        return issuer.name == self.name and bool(self.matches_shape and self.matches_shape(issuer.url))


def label(issuer: LiveIssuer) -> str:
    return f"{issuer.name} ({issuer.id})"


def whom(policy: Mapping[str, Any]) -> str:
    """The service account a policy admits (``ns/sa``), else its rules as a reader would say them."""
    account = pinned_account(policy.get("rules") or {})
    return "/".join(account) if account else describe_policy(policy)


def _normal(policy: Mapping[str, Any]) -> dict[str, Any]:
    found = {key: value for key, value in policy.items() if value not in (None, [], {})}
    found.setdefault("decision", "allow")
    if isinstance(found.get("authorizedPermissions"), list):
        found["authorizedPermissions"] = sorted(found["authorizedPermissions"])
    return found


def same_policy(declared: Mapping[str, Any], live: Mapping[str, Any], stand_ins: frozenset[str] = frozenset()) -> bool:
    one, other = _normal(declared), _normal(live)
    if one.get("runnerID") in stand_ins and "runnerID" in other:
        one["runnerID"] = other["runnerID"]
    return one == other


def _differences(declared: Mapping[str, Any], live: Mapping[str, Any]) -> str:
    one, other = _normal(declared), _normal(live)
    changed = []
    for key in sorted(set(one) | set(other)):
        if key == "rules":
            rules = sorted(set(one.get("rules", {})) | set(other.get("rules", {})))
            changed += [
                f"rule {path!r} is {other.get('rules', {}).get(path)!r}, declared {one.get('rules', {}).get(path)!r}"
                for path in rules
                if one.get("rules", {}).get(path) != other.get("rules", {}).get(path)
            ]
        elif one.get(key) != other.get(key):
            changed.append(f"{key} is {other.get(key)!r}, declared {one.get(key)!r}")
    return "; ".join(changed)


def compare(declared: Declared, organization: Organization) -> tuple[LiveIssuer | None, list[Finding]]:
    """The stack's issuer as Pulumi Cloud holds it, and how it differs from the stack."""
    found = [issuer for issuer in organization.issuers if declared.is_this(issuer)]
    if not found:
        where = f"at {declared.url}" if declared.url else f"named {declared.name!r} of the stack's cloud"
        return None, [
            Finding(
                Code.ISSUER_NOT_REGISTERED,
                declared.name,
                f"no issuer {where} is registered in {organization.name}: the stack is not deployed, or its "
                "issuer was deleted (every exchange of its workloads is refused)",
            )
        ]
    if len(found) > 1:
        names = ", ".join(label(issuer) for issuer in found)
        return None, [Finding(Code.ISSUER_AMBIGUOUS, declared.name, f"several issuers answer to the stack's: {names}")]
    (issuer,) = found
    return issuer, [*_policies(declared, issuer), *_lifetime(declared, issuer)]


def _policies(declared: Declared, issuer: LiveIssuer) -> list[Finding]:
    unmatched_live = [
        (index, live)
        for index, live in enumerate(issuer.policies)
        if not any(same_policy(mine, live, declared.stand_ins) for mine in declared.policies)
    ]
    unmatched_declared = [
        mine
        for mine in declared.policies
        if not any(same_policy(mine, live, declared.stand_ins) for live in issuer.policies)
    ]
    findings = []
    for index, live in unmatched_live:
        account = pinned_account(live.get("rules") or {})
        twin = next(
            (m for m in unmatched_declared if account and pinned_account(m.get("rules") or {}) == account), None
        )
        if twin is not None:
            unmatched_declared.remove(twin)
            findings.append(
                Finding(
                    Code.POLICY_DRIFTED,
                    label(issuer),
                    f"policies[{index}] for {whom(live)} differs from the stack's: {_differences(twin, live)} "
                    "(edited outside this stack? `pulumi up` puts the stack's back)",
                )
            )
        else:
            findings.append(
                Finding(
                    Code.POLICY_NOT_DECLARED,
                    label(issuer),
                    f"policies[{index}] ({live.get('decision', 'allow')} {live.get('tokenType')} token for "
                    f"{whom(live)}) is not the stack's: added outside it, or left by the provider (a "
                    "policies list it is given empty leaves the live ones in place); remove it in Pulumi Cloud",
                )
            )
    findings += [
        Finding(
            Code.POLICY_NOT_REGISTERED,
            label(issuer),
            f"the stack's {mine.get('tokenType')} token policy for {whom(mine)} is not on the issuer: "
            "that workload's exchanges are refused until `pulumi up` registers it",
        )
        for mine in unmatched_declared
    ]
    return findings


def _lifetime(declared: Declared, issuer: LiveIssuer) -> list[Finding]:
    live = issuer.max_expiration_seconds
    if live is None or live <= declared.max_expiration_seconds:
        return []
    return [
        Finding(
            Code.LIFETIME_ABOVE_THE_STACKS,
            label(issuer),
            f"grants tokens of up to {live}s, more than the stack's maxExpirationSeconds "
            f"({declared.max_expiration_seconds}s)",
        )
    ]


def across_the_organization(
    organization: Organization, managed: Sequence[Declared], now: datetime, unused_days: int = DEFAULT_UNUSED_DAYS
) -> list[Finding]:
    """What holds for every issuer: allow rules that pin no subject, issuers no stack manages, and
    issuers no token has used for ``unused_days``."""
    findings = []
    cutoff = now - timedelta(days=unused_days)
    for issuer in organization.issuers:
        for index, policy in enumerate(issuer.policies):
            rules = policy.get("rules") or {}
            if policy.get("decision", "allow") == "allow" and not pins_subject(rules):
                findings.append(
                    Finding(
                        Code.RULE_PINS_NO_SUBJECT,
                        label(issuer),
                        f"policies[{index}] ({policy.get('tokenType')} token) admits more than one service account: it "
                        "pins neither sub nor both the namespace and service-account claims",
                    )
                )
        if not any(stack.is_this(issuer) for stack in managed):
            findings.append(
                Finding(
                    Code.ISSUER_UNMANAGED,
                    label(issuer),
                    f"{issuer.url}: no stack here declares this issuer (another program's, or left behind)",
                )
            )
        used = issuer.last_used or issuer.created
        if used is not None and used < cutoff:
            when = "never used" if issuer.last_used is None else f"last used {issuer.last_used.date().isoformat()}"
            findings.append(
                Finding(
                    Code.ISSUER_UNUSED,
                    label(issuer),
                    f"{when}, more than {unused_days} days ago: remove it if nothing exchanges its tokens any more",
                )
            )
    return findings
