"""Where the doctor gets a token's claims: a JWT (file or stdin), the cluster, or the login Job's log.

A token is held in memory only as long as it is read; nothing here prints, logs or writes it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from keyless.core.pulumi_cloud import subject_account

MIN_TOKEN_SECONDS = 600
"""The shortest lifetime the API server grants a TokenRequest."""


class NotAJwt(ValueError):
    """The text is not a compact JWS (three base64url parts whose first two are JSON objects)."""


@dataclass(frozen=True)
class Token:
    header: dict[str, Any]
    claims: dict[str, Any]
    raw: str | None = field(default=None, repr=False)
    """The encoded token, kept for signature verification only (never shown)."""


def _b64url_json(part: str, what: str) -> dict[str, Any]:
    try:
        decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        value = json.loads(decoded)
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise NotAJwt(f"its {what} is not base64url-encoded JSON") from error
    if not isinstance(value, dict):
        raise NotAJwt(f"its {what} is not a JSON object")
    return value


def decode(text: str) -> Token:
    """The header and claims of a JWT, unverified (verification needs the issuer's keys)."""
    parts = text.strip().split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise NotAJwt(f"it has {len(parts)} dot-separated part(s); a JWT has three (header.claims.signature)")
    return Token(_b64url_json(parts[0], "header"), _b64url_json(parts[1], "claims part"), text.strip())


def claims_from_log(text: str) -> dict[str, Any]:
    """Claims as a JSON object, or as the login Job prints them (``  iss: …`` lines)."""
    stripped = text.strip()
    if stripped.startswith("{"):
        value = json.loads(stripped)
        if not isinstance(value, dict):
            raise ValueError("the claims file holds JSON that is not an object")
        return value
    claims: dict[str, Any] = {}
    for line in stripped.splitlines():
        name, separator, value = line.strip().partition(":")
        if not separator or name not in ("iss", "sub", "aud", "exp", "nbf", "iat"):
            continue
        value = value.strip()
        if value == "<absent>":
            continue
        try:
            claims[name] = json.loads(value)
        except ValueError:
            claims[name] = value
    if not claims:
        raise ValueError("no claims found: expected a JSON object or the login Job's 'iss: …' lines")
    named = subject_account(claims.get("sub"))
    if named is not None:
        claims.setdefault("kubernetes.io", {"namespace": named[0], "serviceaccount": {"name": named[1]}})
    return claims


def from_cluster(
    namespace: str, service_account: str, audience: str, kubeconfig: str | None = None, context: str | None = None
) -> Token:
    """A token minted through the TokenRequest API for the service account, with the audience
    and the shortest lifetime the API server grants. It never leaves this process."""
    from kubernetes import client, config  # the official client; loaded only for this source

    api_client = config.new_client_from_config(config_file=kubeconfig, context=context)
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[audience], expiration_seconds=MIN_TOKEN_SECONDS)
    )
    response = client.CoreV1Api(api_client).create_namespaced_service_account_token(service_account, namespace, request)
    return decode(response.status.token)


def workload_of(claims: Mapping[str, Any]) -> tuple[str, str] | None:
    """The namespace and service account a Kubernetes token names."""
    kubernetes = claims.get("kubernetes.io")
    if isinstance(kubernetes, Mapping):
        namespace = kubernetes.get("namespace")
        account = kubernetes.get("serviceaccount")
        name = account.get("name") if isinstance(account, Mapping) else None
        if isinstance(namespace, str) and isinstance(name, str):
            return namespace, name
    return subject_account(claims.get("sub"))
