"""What Pulumi Cloud does before it reads a policy: fetch the issuer's discovery document and
keys over public TLS, and verify the token's signature with them.

Plain ``http://`` is accepted only for a loopback issuer (the test suite's); Pulumi Cloud itself
reaches only public ``https://`` issuers.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from keyless.doctor.findings import Code, Finding
from keyless.doctor.tokens import Token

TIMEOUT_SECONDS = 5


class _Unreachable(Exception):
    """The issuer answered, or is shaped, so that Pulumi Cloud could not use it either."""


class NotReachedFromHere(Exception):
    """No answer reached this machine: that says nothing of what Pulumi Cloud would get."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _fetch_json(url: str) -> Any:
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and _is_loopback(parts.hostname or "")):
        raise _Unreachable(f"{url} is not https; Pulumi Cloud fetches issuers over public TLS only")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (scheme checked above)
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise _Unreachable(f"{url} answered HTTP {error.code}") from error
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise NotReachedFromHere(f"{url} could not be fetched from here ({reason})") from error
    except ValueError as error:
        raise _Unreachable(f"{url} did not return JSON") from error


def check(token: Token) -> list[Finding]:
    """Discovery, keys and signature, as Pulumi Cloud would check them. Raises
    :class:`NotReachedFromHere` when this machine gets no answer (no network, a firewall)."""
    iss = token.claims.get("iss")
    if not isinstance(iss, str):
        return [Finding(Code.ISSUER_UNREACHABLE, f"iss is {iss!r}: there is no issuer to fetch")]
    discovery_url = iss.rstrip("/") + "/.well-known/openid-configuration"
    try:
        discovery = _fetch_json(discovery_url)
        if not isinstance(discovery, dict):
            raise _Unreachable(f"{discovery_url} is not a discovery document")
        findings = []
        if discovery.get("issuer") != iss:
            findings.append(
                Finding(
                    Code.DISCOVERY_ISSUER_MISMATCH,
                    f"the discovery document at {discovery_url} says issuer {discovery.get('issuer')!r}; "
                    f"the token says iss {iss!r}",
                    {"discovery": discovery.get("issuer"), "iss": iss},
                )
            )
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise _Unreachable(f"{discovery_url} names no jwks_uri")
        jwks = _fetch_json(jwks_uri)
    except _Unreachable as error:
        return [Finding(Code.ISSUER_UNREACHABLE, f"{error}; Pulumi Cloud would refuse every token of this issuer")]
    return findings + _signature(token, jwks)


def _signature(token: Token, jwks: Any) -> list[Finding]:
    import jwt  # PyJWT with cryptography: loaded only when asked to check the issuer

    kid = token.header.get("kid")
    keys = jwks.get("keys", []) if isinstance(jwks, dict) else []
    matching = [key for key in keys if isinstance(key, dict) and key.get("kid") == kid]
    if not matching:
        known = sorted(str(key.get("kid")) for key in keys if isinstance(key, dict))
        return [
            Finding(
                Code.UNKNOWN_KEY_ID,
                f"the token's key id {kid!r} is not among the issuer's published keys {known}; the cluster may "
                "have rotated its signing key, or the token comes from another issuer",
                {"kid": kid, "published": known},
            )
        ]
    algorithm = str(token.header.get("alg", ""))
    try:
        key = jwt.PyJWK(matching[0], algorithm=algorithm or None)
        jwt.PyJWS().decode(token.raw or "", key=key.key, algorithms=[algorithm])
    except jwt.PyJWTError as error:
        return [
            Finding(
                Code.SIGNATURE_INVALID,
                f"the signature does not verify with the issuer's key {kid!r} ({type(error).__name__}): the token "
                "was altered or signed by another key",
                {"kid": kid},
            )
        ]
    return []
