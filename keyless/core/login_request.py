"""What a pod asks Pulumi Cloud for when it logs in with its projected token, modelled once.

A :class:`LoginRequest` renders the environment the shell library (``keyless/scripts/keyless-lib.sh``)
turns into ``pulumi login --oidc-token file://… --oidc-org …`` for the login Job, the canary and the
sidecar; :meth:`LoginRequest.argv` is that command, for the preview to show; and
:meth:`LoginRequest.from_environment` reads a pod's environment back, for the doctor and the
preview. The tests run the shell library and compare its command with :meth:`argv`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from keyless.core.exchange import Request
from keyless.core.pulumi_cloud import TokenType
from keyless.core.values import duration_seconds

TOKEN_DIR = "/var/run/secrets/pulumi"
TOKEN_FILE = f"{TOKEN_DIR}/token"
DEFAULT_BACKEND_URL = "https://api.pulumi.com"

_TOKEN_FILE, _ORG, _TEAM, _USER, _LIFETIME, _BACKEND = (
    "PULUMI_OIDC_TOKEN_FILE",
    "PULUMI_OIDC_ORG",
    "PULUMI_OIDC_TEAM",
    "PULUMI_OIDC_USER",
    "PULUMI_OIDC_EXPIRATION",
    "PULUMI_BACKEND_URL",
)


@dataclass(frozen=True)
class LoginRequest:
    """An exchange of the pod's projected token for a Pulumi token: which, for how long, where."""

    organization: str
    token_type: str = TokenType.ORGANIZATION
    """organization, team or personal: the CLI cannot request a runner token."""
    team: str | None = None
    user: str | None = None
    lifetime: str = "1h"
    """``--oidc-expiration``: a duration such as 15m or 2h."""
    backend_url: str = DEFAULT_BACKEND_URL
    token_file: str = TOKEN_FILE

    @classmethod
    def of(
        cls,
        organization: str,
        token_type: str,
        team_name: str | None = None,
        user_login: str | None = None,
        **rest: str,
    ) -> LoginRequest:
        """The request for a policy's token type: its team or user only where that type takes one."""
        team = team_name if token_type == TokenType.TEAM else None
        user = user_login if token_type == TokenType.PERSONAL else None
        return cls(organization, str(token_type), team, user, **rest)

    def environment(self) -> dict[str, str]:
        """What the shell library reads: the request and nothing else (the token stays a file)."""
        values = {
            _TOKEN_FILE: self.token_file,
            _ORG: self.organization,
            _LIFETIME: self.lifetime,
            _BACKEND: self.backend_url,
        }
        if self.team:
            values[_TEAM] = self.team
        if self.user:
            values[_USER] = self.user
        return values

    def argv(self) -> list[str]:
        """The command the shell library runs for this request."""
        args = ["pulumi", "login", self.backend_url, "--oidc-token", f"file://{self.token_file}"]
        args += ["--oidc-org", self.organization]
        if self.team:
            args += ["--oidc-team", self.team]
        if self.user:
            args += ["--oidc-user", self.user]
        return [*args, "--oidc-expiration", self.lifetime]

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> LoginRequest:
        """The request a pod's environment makes (the inverse of :meth:`environment`)."""
        team, user = environment.get(_TEAM), environment.get(_USER)
        token_type = TokenType.TEAM if team else TokenType.PERSONAL if user else TokenType.ORGANIZATION
        return cls(
            organization=environment[_ORG],
            token_type=str(token_type),
            team=team,
            user=user,
            lifetime=environment[_LIFETIME],
            backend_url=environment[_BACKEND],
            token_file=environment[_TOKEN_FILE],
        )

    def exchange(self) -> Request:
        """What Pulumi Cloud is asked for, as the doctor evaluates it."""
        return Request(self.token_type, self.team, self.user, duration_seconds(self.lifetime))
