"""An organization's OIDC issuers and their policies as Pulumi Cloud holds them, read with Pulumi's
own REST client (``pulumi-cloud-sdk``): ``GET /api/orgs/{org}/oidc/issuers``, then each issuer's
``GET /api/orgs/{org}/auth/policies/oidcissuers/{id}`` and the roles its policies name
(``GET /api/orgs/{org}/roles/{id}``). Only reads: no call changes anything.

The credentials are the caller's: ``PULUMI_ACCESS_TOKEN``, else the Pulumi CLI's stored login for
the backend (``credentials.json`` under ``PULUMI_CREDENTIALS_PATH``, ``PULUMI_HOME`` or
``~/.pulumi``), as the CLI itself chooses. Listing an organization's issuers needs an admin.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_BACKEND_URL = "https://api.pulumi.com"
POLICY_FIELDS = (
    "decision",
    "tokenType",
    "teamName",
    "userLogin",
    "roleID",
    "runnerID",
    "authorizedPermissions",
    "rules",
)
"""A policy's wire fields, as ``pulumiservice.OidcIssuer`` registers them and the REST API returns them."""


class CannotRead(Exception):
    """Pulumi Cloud could not be read: no credentials, refused, unreachable, or an unreadable answer."""


@dataclass(frozen=True)
class Login:
    backend_url: str
    token: str = field(repr=False)
    source: str
    """Where the token came from, for messages (never the token)."""


def login(backend_url: str | None = None, environ: Mapping[str, str] | None = None) -> Login:
    """The caller's credentials: ``PULUMI_ACCESS_TOKEN``, else the CLI's stored login."""
    env = os.environ if environ is None else environ
    token = env.get("PULUMI_ACCESS_TOKEN")
    url = backend_url or env.get("PULUMI_BACKEND_URL")
    if token:
        return Login((url or DEFAULT_BACKEND_URL).rstrip("/"), token, "PULUMI_ACCESS_TOKEN")
    path = credentials_path(env)
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        raise CannotRead(
            f"no credentials: set PULUMI_ACCESS_TOKEN, or run `pulumi login` (no {path}) as an admin of the organization"
        ) from None
    except (OSError, ValueError) as error:
        raise CannotRead(f"cannot read the CLI's stored login {path}: {error}") from None
    url = (url or stored.get("current") or DEFAULT_BACKEND_URL).rstrip("/")
    tokens = {key.rstrip("/"): value for key, value in (stored.get("accessTokens") or {}).items()}
    if not tokens.get(url):
        raise CannotRead(f"the CLI's stored login ({path}) holds no token for {url}: run `pulumi login {url}`")
    return Login(url, tokens[url], str(path))


def credentials_path(env: Mapping[str, str]) -> Path:
    """Where the CLI keeps its login (sdk/go/common/workspace/creds.go)."""
    if env.get("PULUMI_CREDENTIALS_PATH"):
        return Path(env["PULUMI_CREDENTIALS_PATH"]) / "credentials.json"
    home = Path(env["PULUMI_HOME"]) if env.get("PULUMI_HOME") else Path.home() / ".pulumi"
    return home / "credentials.json"


@dataclass(frozen=True)
class LiveIssuer:
    id: str
    name: str
    url: str
    max_expiration_seconds: int | None
    created: datetime | None
    last_used: datetime | None
    policies: tuple[Mapping[str, Any], ...]
    """In wire form (:data:`POLICY_FIELDS`), unset fields left out."""


@dataclass(frozen=True)
class Organization:
    name: str
    issuers: tuple[LiveIssuer, ...]
    roles: Mapping[str, str] = field(default_factory=dict)
    """Role names by id, for the roles the policies name that could be read."""


def read(organization: str, credentials: Login) -> Organization:
    """The organization's issuers, their policies and the names of the roles they grant."""
    from urllib.error import HTTPError, URLError

    from pulumi_cloud_sdk import ApiClient, Configuration, default_encoder
    from pulumi_cloud_sdk.apis import OrganizationsApi

    configuration = Configuration()
    configuration.host = credentials.backend_url
    configuration.access_token = credentials.token
    api = OrganizationsApi(ApiClient(configuration))
    try:
        listed = api.list_orgs_oidc_issuers(organization).oidc_issuers__safederef
        issuers = []
        for issuer in listed:
            policy = api.get_auth_policy(organization, issuer.id)
            policies = default_encoder.sanitize_for_serialization(policy.policies__safederef)
            issuers.append(
                LiveIssuer(
                    id=issuer.id,
                    name=issuer.name,
                    url=issuer.url,
                    max_expiration_seconds=issuer.max_expiration or None,
                    created=_time(issuer.created),
                    last_used=_time(issuer.last_used),
                    policies=tuple(_wire(p) for p in policies),
                )
            )
    except HTTPError as error:
        raise CannotRead(_refusal(error, organization, credentials)) from None
    except URLError as error:
        raise CannotRead(f"cannot reach {credentials.backend_url}: {error.reason}") from None
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise CannotRead(f"{credentials.backend_url} answered, but not with what the API documents: {error}") from None
    return Organization(organization, tuple(issuers), _role_names(api, organization, issuers))


def _role_names(api: Any, organization: str, issuers: Sequence[LiveIssuer]) -> dict[str, str]:
    from urllib.error import HTTPError

    names = {}
    for role in sorted({str(p["roleID"]) for issuer in issuers for p in issuer.policies if p.get("roleID")}):
        try:
            names[role] = str(api.get_role(organization, role).name or role)
        except HTTPError:
            continue  # shown by its id: the role may be gone, or the caller may not read roles
    return names


def _wire(policy: Mapping[str, Any]) -> dict[str, Any]:
    return {name: policy[name] for name in POLICY_FIELDS if policy.get(name) not in (None, [], {})}


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _refusal(error: Any, organization: str, credentials: Login) -> str:
    if error.code in (401, 403):
        return (
            f"Pulumi Cloud refused to list {organization}'s OIDC issuers (HTTP {error.code}) for the token from "
            f"{credentials.source}: listing issuers needs an admin of the organization"
        )
    if error.code == 404:
        return f"Pulumi Cloud knows no organization {organization!r} (HTTP 404) at {credentials.backend_url}"
    return f"Pulumi Cloud answered HTTP {error.code} {error.reason} at {credentials.backend_url}"
