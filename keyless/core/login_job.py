"""The login Job: what it runs, with which token, for how long, as whom.

The Job's pod presents its projected service-account token (audience ``urn:pulumi:org:<org>``)
to ``pulumi login --oidc-token file://…`` and then runs ``pulumi whoami``. The script itself is
``keyless/scripts/login.sh``; this module holds its inputs and their rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

from keyless.core.kubernetes import MAX_PROJECTED_TOKEN_SECONDS, MIN_PROJECTED_TOKEN_SECONDS, recommended_labels
from keyless.core.problems import MISSING, UNKNOWN, Problem
from keyless.core.pulumi_cloud import LOGIN_FLAGS, LOGIN_TOKEN_TYPES, TokenType, organization_name
from keyless.core.spec import Field, Keys, Spec, required
from keyless.core.values import (
    boolean,
    choice,
    dns1123_label,
    duration,
    duration_seconds,
    https_url,
    identifier,
    int_range,
    pattern,
    pinned_image,
)

DEFAULT_IMAGE = "pulumi/pulumi-base:3.272.0"
"""Debian slim with the Pulumi CLI only; 3.209.0 brought ``--oidc-*`` and 3.216.0 the API default."""
DEFAULT_BACKEND_URL = "https://api.pulumi.com"
DEFAULT_RUN_AS_USER = 10001
DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600
DEFAULT_EXCHANGED_TOKEN_LIFETIME = "1h"
DEFAULT_ACTIVE_DEADLINE_SECONDS = 300
DEFAULT_AWAIT_TIMEOUT_SECONDS = 600

TOKEN_DIR = "/var/run/secrets/pulumi"
TOKEN_FILE = f"{TOKEN_DIR}/token"
SCRIPT_DIR = "/opt/pulumi-oidc"
SCRIPT_NAME = "login.sh"
HOME_DIR = "/home/runner"


CANARY_HISTORY = 3
"""Finished canary Jobs kept, of each outcome: enough to see a trend, bounded."""
CANARY_STARTING_DEADLINE_SECONDS = 300

cron_schedule = pattern(
    r"@(yearly|annually|monthly|weekly|daily|hourly)|[0-9A-Za-z*/,?-]+( +[0-9A-Za-z*/,?-]+){4}",
    "a cron schedule",
    "five fields such as '0 * * * *' (hourly), or @hourly/@daily",
)


def login_script() -> str:
    """The login script shipped in the package (``keyless/scripts/login.sh``)."""
    return resources.files("keyless.scripts").joinpath(SCRIPT_NAME).read_text()


REFRESH_SCRIPT_NAME = "refresh.sh"


def refresh_script() -> str:
    """The sidecar's refresher (``keyless/scripts/refresh.sh``): keeps a pod logged in."""
    return resources.files("keyless.scripts").joinpath(REFRESH_SCRIPT_NAME).read_text()


def _login_flags(values: Mapping[str, Any], keys: Keys) -> list[Problem]:
    token_type = values.get("token_type")
    if token_type in (None, UNKNOWN) or TokenType(token_type) not in LOGIN_FLAGS:
        return []
    wanted = LOGIN_FLAGS[TokenType(token_type)]
    problems = []
    for flag_type, flag in LOGIN_FLAGS.items():
        if flag is None:
            continue
        name = flag[0]
        given = values.get(name) is not None
        if given and flag != wanted:
            problems.append(
                Problem(
                    keys.of(name),
                    MISSING,
                    f"given with {keys.name('token_type')} {token_type!r}",
                    f"it only with {keys.name('token_type')} {flag_type.value!r}",
                )
            )
        if not given and flag == wanted:
            problems.append(
                Problem(keys.of(name), MISSING, f"missing; {keys.name('token_type')} {token_type!r} needs it")
            )
    return problems


LOGIN_JOB = Spec(
    "OidcLoginRunner",
    {
        "namespace": required(dns1123_label),
        "service_account_name": required(dns1123_label),
        "organization": required(organization_name),
        "token_type": required(choice(LOGIN_TOKEN_TYPES)),
        "team_name": Field(identifier),
        "user_login": Field(identifier),
        "image": Field(pinned_image, DEFAULT_IMAGE),
        "token_expiration_seconds": Field(
            int_range(MIN_PROJECTED_TOKEN_SECONDS, MAX_PROJECTED_TOKEN_SECONDS), DEFAULT_TOKEN_EXPIRATION_SECONDS, "int"
        ),
        "exchanged_token_lifetime": Field(duration, DEFAULT_EXCHANGED_TOKEN_LIFETIME),
        "backend_url": Field(https_url, DEFAULT_BACKEND_URL),
        "active_deadline_seconds": Field(int_range(30, 3600), DEFAULT_ACTIVE_DEADLINE_SECONDS, "int"),
        "await_timeout_seconds": Field(int_range(60, 7200), DEFAULT_AWAIT_TIMEOUT_SECONDS, "int"),
        "run_as_user": Field(int_range(1, 2_147_483_647), DEFAULT_RUN_AS_USER, "int"),
        "network_policy": Field(boolean, True, "bool"),
        "canary_schedule": Field(cron_schedule),
    },
    (_login_flags,),
)


_TOKEN_ON_ARGV = re.compile(r"--oidc-token[= ]+(?![\"']?file://)\S")
_TOKEN_READ = re.compile(r"(\w+)=[\"']?\$\((?:<|cat\s+)\s*[^)]*token[^)]*\)")


def script_token_leaks(script: str) -> list[str]:
    """How a login script exposes the token: on a command line (``/proc/<pid>/cmdline``), or printed."""
    leaks = []
    if _TOKEN_ON_ARGV.search(script):
        leaks.append("passes the token itself to --oidc-token, on the command line; pass file://PATH instead")
    for variable in dict.fromkeys(_TOKEN_READ.findall(script)):
        if re.search(rf"\becho\b[^\n]*\${{?{variable}\b", script):
            leaks.append(f"prints the token (echo ${variable}) into the log")
    return leaks


_OIDC_LOGIN = re.compile(r"\bpulumi\s+login\b[^\n]*--oidc-token")


def runs_oidc_login(script: str) -> bool:
    """The script exchanges a token with ``pulumi login --oidc-token``: its pod is a login pod."""
    return _OIDC_LOGIN.search(script) is not None


def lifetime_within_issuer_maximum(key: str, lifetime: Any, maximum_key: str, maximum_seconds: Any) -> list[Problem]:
    """The exchanged token's lifetime may not exceed what the issuer allows."""
    seconds = duration_seconds(lifetime)
    if seconds is None or not isinstance(maximum_seconds, int) or seconds <= maximum_seconds:
        return []
    return [
        Problem(
            key,
            lifetime,
            f"({seconds}s) exceeds {maximum_key} ({maximum_seconds})",
            "at most that",
        )
    ]


def login_environment(
    *,
    organization: str,
    token_type: str,
    team_name: str | None = None,
    user_login: str | None = None,
    exchanged_token_lifetime: str = DEFAULT_EXCHANGED_TOKEN_LIFETIME,
    backend_url: str = DEFAULT_BACKEND_URL,
    doctor_command: str | None = None,
) -> dict[str, str]:
    """Environment of the login script; it turns these into ``pulumi login`` flags."""
    environment = {
        "PULUMI_OIDC_TOKEN_FILE": TOKEN_FILE,
        "PULUMI_OIDC_ORG": organization,
        "PULUMI_OIDC_EXPIRATION": exchanged_token_lifetime,
        "PULUMI_BACKEND_URL": backend_url,
        "PULUMI_HOME": f"{HOME_DIR}/.pulumi",
        "HOME": HOME_DIR,
        "TMPDIR": "/tmp",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    if doctor_command:
        environment["KEYLESS_DOCTOR_COMMAND"] = doctor_command
    # What the token obtained must be, checked after every login (a UI edit can change it).
    environment["KEYLESS_EXPECT_ORGANIZATION"] = organization
    flag = requested_flag(token_type, team_name, user_login)
    if flag is not None:
        environment[f"PULUMI_OIDC_{flag[0]}"] = flag[1]
        environment[f"KEYLESS_EXPECT_{flag[0]}"] = flag[1]
    return environment


def requested_flag(token_type: str, team_name: str | None, user_login: str | None) -> tuple[str, str] | None:
    """``("TEAM", team)`` or ``("USER", user)``: what turns into ``--oidc-team``/``--oidc-user``;
    None for an organization token, which the CLI asks for without a flag."""
    if token_type == TokenType.TEAM and team_name:
        return "TEAM", team_name
    if token_type == TokenType.PERSONAL and user_login:
        return "USER", user_login
    return None


def doctor_command(stack: str, namespace: str, service_account: str) -> str:
    """What the login Job's log tells a user to run when the exchange is refused."""
    return f"keyless doctor --stack {stack} --from-cluster --workload {namespace}/{service_account}"


def pod_labels(name: str, component: str = "login-job") -> dict[str, str]:
    """Labels of a login pod: the Job's (``login-job``) or the canary's (``login-canary``)."""
    return recommended_labels(name, component)


def pod_selector(name: str) -> dict[str, str]:
    """What the NetworkPolicy selects: every login pod of this instance, Job and canary alike."""
    labels = recommended_labels(name, "login-job")
    return {key: labels[key] for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance")}


def job_annotations(await_timeout_seconds: int) -> dict[str, str]:
    """Pulumi-Kubernetes await settings: bounded wait, and a failed Job is re-run on the next up."""
    return {
        "pulumi.com/timeoutSeconds": str(await_timeout_seconds),
        "pulumi.com/replaceUnready": "true",
    }


SIDECAR_HOME = "/pulumi-home"
"""Where the sidecar publishes the CLI's credentials: the PULUMI_HOME the application uses."""
SIDECAR_SCRIPT_DIR = "/opt/keyless"
DEFAULT_REFRESH_PERCENT = 50
DEFAULT_SIDECAR_LIFETIME = "2h"

SIDECAR = LOGIN_JOB.only(
    "namespace",
    "organization",
    "token_type",
    "team_name",
    "user_login",
    "image",
    "token_expiration_seconds",
    "backend_url",
    "run_as_user",
).extend(
    "KeylessPulumiSidecar",
    {
        "exchanged_token_lifetime": Field(duration, DEFAULT_SIDECAR_LIFETIME),
        "refresh_percent": Field(int_range(10, 90), DEFAULT_REFRESH_PERCENT, "int"),
        "pod_labels": Field(kind="map"),
    },
)
"""The sidecar's arguments: the login Job's rules, and how often to renew."""


def sidecar_environment(
    *,
    organization: str,
    token_type: str,
    team_name: str | None,
    user_login: str | None,
    lifetime_seconds: int,
    refresh_percent: int,
    backend_url: str,
) -> list[dict[str, str]]:
    """The refresher's environment (wire form); the token itself is only ever a file."""
    values = {
        "PULUMI_OIDC_TOKEN_FILE": TOKEN_FILE,
        "PULUMI_OIDC_ORG": organization,
        "PULUMI_BACKEND_URL": backend_url,
        "KEYLESS_SHARED_HOME": SIDECAR_HOME,
        "KEYLESS_LIFETIME_SECONDS": str(lifetime_seconds),
        "KEYLESS_REFRESH_PERCENT": str(refresh_percent),
        "HOME": HOME_DIR,
        "TMPDIR": "/tmp",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    flag = requested_flag(token_type, team_name, user_login)
    if flag is not None:
        values[f"PULUMI_OIDC_{flag[0]}"] = flag[1]
    return [{"name": key, "value": values[key]} for key in sorted(values)]
