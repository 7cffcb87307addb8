"""The doctor's findings: each a stable code, a sentence showing the two values that differ, and
the basis of the refusal it predicts.

:func:`diagnose` checks a token's claims against a stack's reference in the order Pulumi Cloud
would refuse it, most decisive first; every check is independent, so each code is produced by
its own case only. A reason is ``documented`` when a page (Pulumi's, or the standard Pulumi Cloud
implements) says the exchange is refused for it, and ``assumed`` when it rests on behaviour
Pulumi Cloud does not document: the verdict is ``refused`` only on a documented reason, and
``likely-refused`` on assumed reasons alone.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from keyless import identity
from keyless.core import issuers
from keyless.core.exchange import Evaluation, Request, describe_policy, evaluate, unquoted_nested_paths
from keyless.core.problems import MISSING
from keyless.core.pulumi_cloud import AUDIENCE_CLAIM
from keyless.doctor.reference import StackReference

CLOCK_SKEW_SECONDS = 60


class Code(StrEnum):
    ADMITTED = "admitted"
    NOT_A_JWT = "not-a-jwt"
    ISSUER_MISMATCH = "issuer-mismatch"
    AUDIENCE_MISMATCH = "audience-mismatch"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    DENIED_BY_POLICY = "denied-by-policy"
    RUNNER_TOKEN_NOT_REQUESTABLE = "runner-token-not-requestable"
    TOKEN_TYPE_MISMATCH = "token-type-mismatch"
    NO_MATCHING_POLICY = "no-matching-policy"
    LIFETIME_EXCEEDS_ISSUER_MAXIMUM = "lifetime-exceeds-issuer-maximum"
    ISSUER_UNREACHABLE = "issuer-unreachable"
    DISCOVERY_ISSUER_MISMATCH = "discovery-issuer-mismatch"
    UNKNOWN_KEY_ID = "unknown-key-id"
    SIGNATURE_INVALID = "signature-invalid"


DOCUMENTED, ASSUMED = "documented", "assumed"
OIDC_ISSUERS_PAGE = "https://www.pulumi.com/docs/administration/access-identity/oidc-issuers/"


@dataclass(frozen=True)
class Basis:
    """What a refusal rests on: ``documented`` with the page that says so, or ``assumed`` and why."""

    kind: str
    source: str


BASES: dict[Code, Basis] = {
    Code.NOT_A_JWT: Basis(DOCUMENTED, "RFC 8693 §3 and Pulumi's OIDC issuers page: the subject token is a JWT"),
    Code.ISSUER_MISMATCH: Basis(DOCUMENTED, f"{OIDC_ISSUERS_PAGE}: tokens are exchanged for a registered issuer"),
    Code.AUDIENCE_MISMATCH: Basis(
        ASSUMED,
        "Pulumi Cloud does not document requiring aud urn:pulumi:org:<org> when no policy rule pins it "
        "(its EKS guide exchanges the IRSA token, aud sts.amazonaws.com)",
    ),
    Code.EXPIRED: Basis(DOCUMENTED, "RFC 7519 §4.1.4 (exp)"),
    Code.NOT_YET_VALID: Basis(DOCUMENTED, "RFC 7519 §4.1.5 (nbf)"),
    Code.DENIED_BY_POLICY: Basis(ASSUMED, "Pulumi Cloud does not document that a deny policy wins over an allow"),
    Code.RUNNER_TOKEN_NOT_REQUESTABLE: Basis(
        DOCUMENTED, "the CLI refuses to request a runner token (pulumi/pulumi pkg/cmd/pulumi/auth/login.go)"
    ),
    Code.TOKEN_TYPE_MISMATCH: Basis(DOCUMENTED, f"{OIDC_ISSUERS_PAGE}: an allow policy grants its token type"),
    Code.NO_MATCHING_POLICY: Basis(
        DOCUMENTED, f"{OIDC_ISSUERS_PAGE}: a new issuer denies every token; an allow policy's rules must match"
    ),
    Code.LIFETIME_EXCEEDS_ISSUER_MAXIMUM: Basis(
        ASSUMED, "Pulumi Cloud does not document whether a longer request is refused or capped to the maximum"
    ),
    Code.ISSUER_UNREACHABLE: Basis(
        DOCUMENTED, f"{OIDC_ISSUERS_PAGE}: Pulumi Cloud fetches the issuer's discovery document and keys over HTTPS"
    ),
    Code.DISCOVERY_ISSUER_MISMATCH: Basis(DOCUMENTED, "OpenID Connect Discovery 1.0 §4.3"),
    Code.UNKNOWN_KEY_ID: Basis(DOCUMENTED, "RFC 7515 §4.1.4 and RFC 7517: the signing key is in the issuer's JWKS"),
    Code.SIGNATURE_INVALID: Basis(DOCUMENTED, "RFC 7515 §5.2 (signature validation)"),
}
TRAILING_SLASH = Basis(
    ASSUMED,
    "Pulumi Cloud does not document whether it forgives a trailing '/' (its GKE guide registers one; GKE "
    "tokens carry none)",
)


@dataclass(frozen=True)
class Finding:
    code: Code
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    basis: Basis | None = None
    """Overrides the code's own basis (:data:`BASES`) for this case."""

    @property
    def grounds(self) -> Basis | None:
        return self.basis or BASES.get(self.code)

    def as_json(self) -> dict[str, Any]:
        grounds = self.grounds
        basis = {} if grounds is None else {"basis": grounds.kind, "source": grounds.source}
        return {"code": self.code.value, "message": self.message, **basis, **self.details}


@dataclass(frozen=True)
class Diagnosis:
    findings: list[Finding]
    policy: dict[str, Any] | None
    request: Request
    notes: list[str] = field(default_factory=list)

    @property
    def admitted(self) -> bool:
        return [f.code for f in self.findings] == [Code.ADMITTED]

    @property
    def verdict(self) -> str:
        """admitted; refused on a documented reason; likely-refused on assumed reasons only."""
        if self.admitted:
            return "admitted"
        documented = any(f.grounds is None or f.grounds.kind == DOCUMENTED for f in self.findings)
        return "refused" if documented else "likely-refused"


def _issuer(reference: StackReference, claims: Mapping[str, Any], notes: list[str]) -> list[Finding]:
    iss = claims.get("iss")
    expected = reference.issuer.url
    if expected is not None:
        if iss == expected:
            return []
        hints = []
        slash_only = isinstance(iss, str) and iss.rstrip("/") == expected.rstrip("/")
        if slash_only:
            hints.append("they differ only in a trailing '/'; register the issuer exactly as the token's iss")
        if isinstance(iss, str) and "/zones/" in iss:
            hints.append("GKE tokens say 'locations/', never 'zones/'")
        return [
            Finding(
                Code.ISSUER_MISMATCH,
                f"iss is {iss!r}; the stack registers the issuer {expected!r}" + "".join(f"; {h}" for h in hints),
                {"iss": iss, "registered": expected},
                TRAILING_SLASH if slash_only else None,
            )
        ]
    cloud = reference.issuer.cloud
    if isinstance(iss, str) and reference.issuer.shape_matches(iss):
        notes.append(
            f"the {str(cloud).upper()} issuer's id is known only after deployment: pass --issuer-url "
            '"$(pulumi stack output issuerUrl)" to compare it exactly'
        )
        return []
    if cloud == "aks":
        why = issuers.shape_reasons(iss) if issuers.cloud_of(iss) == "aks" else ["is not on an AKS issuer host"]
        return [
            Finding(
                Code.ISSUER_MISMATCH,
                f"iss is {iss!r}: it {'; it '.join(why)}; the stack's AKS cluster has an issuer shaped "
                f"{issuers.AKS_SHAPE}",
                {"iss": iss, "registered": None},
            )
        ]
    region = reference.issuer.eks_region
    why = issuers.shape_reasons(iss) if issuers.cloud_of(iss) == "eks" else ["is not on the EKS issuer host"]
    found_region = issuers.eks_region(iss)
    if not why and found_region != region:
        why = [f"names the region {found_region!r}, not the cluster's {region!r}"]
    return [
        Finding(
            Code.ISSUER_MISMATCH,
            f"iss is {iss!r}: it {'; it '.join(why)}; the stack's EKS cluster in {region} has an issuer "
            f"'https://oidc.eks.{region}.amazonaws.com/id/<ID>'",
            {"iss": iss, "registered": None},
        )
    ]


def _audience(reference: StackReference, claims: Mapping[str, Any]) -> list[Finding]:
    """Only where no policy pins ``aud``: a pinned one that differs is a policy mismatch (documented)."""
    if any(AUDIENCE_CLAIM in (policy.get("rules") or {}) for policy in reference.policies):
        return []
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if reference.audience in audiences:
        return []
    return [
        Finding(
            Code.AUDIENCE_MISMATCH,
            f"aud is {aud!r}; tokens for organization {reference.organization!r} must carry "
            f"{reference.audience!r} (mint it with --audience {reference.audience})",
            {"aud": aud, "expected": reference.audience},
        )
    ]


def _times(claims: Mapping[str, Any], now: float) -> list[Finding]:
    findings = []
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and now > exp + CLOCK_SKEW_SECONDS:
        findings.append(
            Finding(
                Code.EXPIRED,
                f"exp is {int(exp)} ({_ago(now - exp)} ago); the token can no longer be exchanged",
                {"exp": exp, "now": int(now)},
            )
        )
    for name in ("nbf", "iat"):
        value = claims.get(name)
        if isinstance(value, (int, float)) and value > now + CLOCK_SKEW_SECONDS:
            findings.append(
                Finding(
                    Code.NOT_YET_VALID,
                    f"{name} is {int(value)}, {_ago(value - now)} in the future; check the clocks of this "
                    "machine and of the cluster",
                    {name: value, "now": int(now)},
                )
            )
            break
    return findings


def _ago(seconds: float) -> str:
    seconds = int(seconds)
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )


def _policies(evaluation: Evaluation, claims: Mapping[str, Any], request: Request) -> list[Finding]:
    if evaluation.denying:
        deny = evaluation.denying[0]
        return [
            Finding(
                Code.DENIED_BY_POLICY,
                f"deny policy {deny.index} ({describe_policy(deny.policy)}) matches the token, and a deny wins over "
                "every allow",
                {"policy": deny.index},
            )
        ]
    allowing = evaluation.allowing
    if allowing:
        if any(r.grants(request) for r in allowing):
            return []
        if all(r.token_type == "runner" for r in allowing):
            return [
                Finding(
                    Code.RUNNER_TOKEN_NOT_REQUESTABLE,
                    f"the only policy for this token ({describe_policy(allowing[0].policy)}) grants a runner token, "
                    f"which `pulumi login` cannot request (it asks for "
                    f"{_token_words(request.token_type, request.team, request.user)}); runner tokens are exchanged "
                    "by customer-managed deployment agents themselves",
                    {"policy": allowing[0].index},
                )
            ]
        offered = allowing[0]
        wanted = _token_words(request.token_type, request.team, request.user)
        granted = _token_words(offered.token_type, offered.policy.get("teamName"), offered.policy.get("userLogin"))
        return [
            Finding(
                Code.TOKEN_TYPE_MISMATCH,
                f"the exchange requests {wanted}; the matching policy {offered.index} "
                f"({describe_policy(offered.policy)}) grants {granted}",
                {"requested": wanted, "granted": granted, "policy": offered.index},
            )
        ]
    nearest = evaluation.nearest()
    if nearest is None:
        return [Finding(Code.NO_MATCHING_POLICY, "the issuer has no allow policy: a new issuer denies every token")]
    # The subject first: it is the claim users recognise, and it names the workload.
    differing = sorted((rule for rule in nearest.rules if not rule.matched), key=lambda rule: rule.path != "sub")
    parts = []
    for rule in differing:
        shown = "absent" if rule.value is MISSING else repr(rule.value)
        parts.append(
            f"{rule.path} is {shown}; the nearest policy ({describe_policy(nearest.policy)}) expects {rule.pattern!r}"
        )
    unquoted = unquoted_nested_paths(nearest.policy.get("rules") or {})
    if unquoted:
        parts.append(f"rule path(s) {', '.join(unquoted)} are not quoted, so they never match a nested claim")
    return [
        Finding(
            Code.NO_MATCHING_POLICY,
            "; ".join(parts) or "no allow policy matches the token",
            {"policy": nearest.index, "differing": [rule.path for rule in differing]},
        ),
    ]


def _token_words(token_type: str, team: Any, user: Any) -> str:
    if token_type == "team":
        return f"a team token for {team!r}"
    if token_type == "personal":
        return f"a personal token for {user!r}"
    return f"an {token_type} token" if token_type[:1] in "aeiou" else f"a {token_type} token"


def _lifetime(reference: StackReference, request: Request) -> list[Finding]:
    if request.lifetime_seconds is None or request.lifetime_seconds <= reference.max_expiration_seconds:
        return []
    return [
        Finding(
            Code.LIFETIME_EXCEEDS_ISSUER_MAXIMUM,
            f"the exchange asks for {request.lifetime_seconds}s; the issuer allows at most "
            f"{reference.max_expiration_seconds}s (keyless:issuer.maxExpirationSeconds)",
            {"requested": request.lifetime_seconds, "maximum": reference.max_expiration_seconds},
        )
    ]


def _cloud_token_notes(claims: Mapping[str, Any]) -> list[str]:
    """A token whose audience is an identity mode's cloud token: the pod's other token, mounted for
    its cloud (each mode declares the audience of the token it mounts)."""
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    return [
        f"aud {mode.cloud_token_audience!r} is the token identityMode {mode.name} mounts for the cloud, not "
        "the pod's Pulumi Cloud token: exchange the projected token for urn:pulumi:org:<org> instead"
        for mode in identity.modes()
        if mode.cloud_token_audience is not None and mode.cloud_token_audience in audiences
    ]


def diagnose(
    reference: StackReference, claims: Mapping[str, Any], request: Request, now: float | None = None
) -> Diagnosis:
    """Every reason Pulumi Cloud would refuse the exchange, most decisive first; ``admitted`` if none."""
    now = time.time() if now is None else now
    notes: list[str] = _cloud_token_notes(claims)
    evaluation = evaluate(reference.policies, claims)
    findings = [
        *_issuer(reference, claims, notes),
        *_audience(reference, claims),
        *_times(claims, now),
        *_policies(evaluation, claims, request),
        *_lifetime(reference, request),
    ]
    chosen = next((r for r in evaluation.allowing if r.grants(request)), None) or evaluation.nearest()
    for rule in chosen.rules if chosen else []:
        if rule.assumed:
            notes.append(f"{rule.path}: {rule.assumed} (not documented by Pulumi Cloud)")
    if not findings:
        assert chosen is not None
        findings = [
            Finding(
                Code.ADMITTED,
                f"policy {chosen.index} ({describe_policy(chosen.policy)}) grants "
                f"{_token_words(request.token_type, request.team, request.user)}",
                {"policy": chosen.index},
            )
        ]
    return Diagnosis(findings, None if chosen is None else dict(chosen.policy), request, notes)


def as_json(diagnosis: Diagnosis, claims: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "verdict": diagnosis.verdict,
        "reasons": [finding.as_json() for finding in diagnosis.findings],
        "policy": diagnosis.policy,
        "request": asdict(diagnosis.request),
        "claims": {key: claims[key] for key in ("iss", "sub", "aud", "exp", "nbf", "iat") if key in claims},
        "notes": diagnosis.notes,
    }
