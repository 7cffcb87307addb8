"""The login Job: what it runs, with which token, for how long, as whom.

The Job's pod presents its projected service-account token (audience ``urn:pulumi:org:<org>``)
to ``pulumi login --oidc-token file://…`` and then runs ``pulumi whoami``. The script itself is
``keyless/scripts/login.sh``; this module holds its inputs and their rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from keyless.core.kubernetes import (
    MAX_PROJECTED_TOKEN_SECONDS,
    MIN_PROJECTED_TOKEN_SECONDS,
    credential_endpoint,
    recommended_labels,
)
from keyless.core.login_request import DEFAULT_BACKEND_URL, LoginRequest
from keyless.core.problems import MISSING, UNKNOWN, Problem
from keyless.core.pulumi_cloud import LOGIN_FLAGS, LOGIN_TOKEN_TYPES, TokenType, organization_name, token_lifetime
from keyless.core.spec import Field, Keys, Spec, required
from keyless.core.values import (
    boolean,
    choice,
    dns1123_label,
    duration_seconds,
    https_url,
    identifier,
    int_range,
    list_of,
    pattern,
    pinned_image,
)

DEFAULT_IMAGE = "pulumi/pulumi-base:3.272.0"
"""Debian slim with the Pulumi CLI only; 3.209.0 brought ``--oidc-*`` and 3.216.0 the API default."""
DEFAULT_RUN_AS_USER = 10001
DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600
DEFAULT_EXCHANGED_TOKEN_LIFETIME = "1h"
DEFAULT_ACTIVE_DEADLINE_SECONDS = 300
DEFAULT_AWAIT_TIMEOUT_SECONDS = 600

SCRIPT_DIR = "/opt/pulumi-oidc"
SCRIPT_NAME = "login.sh"
LIBRARY_NAME = "keyless-lib.sh"
"""The shell library both scripts source (the token's claims, the login request, the check)."""
HOME_DIR = "/home/runner"


CANARY_HISTORY = 3
"""Finished canary Jobs kept, of each outcome: enough to see a trend, bounded."""
CANARY_STARTING_DEADLINE_SECONDS = 300

_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
    ("day of week", 0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)
_CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_CRON_PART = re.compile(r"^(\*|\?|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/([0-9]+))?$")


def _cron_value(text: str, low: int, names: tuple[str, ...]) -> int | None:
    if text.isdigit():
        return int(text)
    upper = text.upper()
    return names.index(upper) + (low if low == 1 else 0) if upper in names else None


def _cron_field(text: str, field: tuple[str, int, int, tuple[str, ...]]) -> str | None:
    """Why one field of a schedule is not one Kubernetes takes, or None."""
    name, low, high, names = field
    for part in text.split(","):
        match = _CRON_PART.match(part)
        if match is None or (match.group(2) is not None and int(match.group(2)) == 0):
            return f"its {name} field {text!r} is not a value, range, list or step"
        head = match.group(1)
        if head == "?" and name not in ("day of month", "day of week"):
            return f"'?' is only for the day fields, not the {name}"
        if head in ("*", "?"):
            continue
        for bound in head.split("-"):
            value = _cron_value(bound, low, names)
            if value is None or not low <= value <= high:
                return f"its {name} field has {bound!r}, outside {low} to {high}" + (
                    f" and {names[0]}…{names[-1]}" if names else ""
                )
    return None


def cron_schedule(key: str, value: Any) -> list[Problem]:
    """A CronJob schedule as Kubernetes parses it: five fields, each value in its range, or a macro."""
    accepted = "five fields such as '0 * * * *' (hourly), or @hourly/@daily"
    if not isinstance(value, str) or not value.strip():
        return [Problem(key, value, "is not a cron schedule", accepted)]
    if value.strip() in _CRON_MACROS:
        return []
    fields = value.split()
    if len(fields) != len(_CRON_FIELDS):
        return [Problem(key, value, f"is not a cron schedule: it has {len(fields)} fields, not 5", accepted)]
    for text, field in zip(fields, _CRON_FIELDS, strict=True):
        reason = _cron_field(text, field)
        if reason is not None:
            return [Problem(key, value, f"is not a cron schedule: {reason}", accepted)]
    return []


def script(name: str) -> str:
    """A script shipped in the package (``keyless/scripts/<name>``)."""
    return resources.files("keyless.scripts").joinpath(name).read_text()


def login_script() -> str:
    """The login Job's and the canary's script (``keyless/scripts/login.sh``)."""
    return script(SCRIPT_NAME)


REFRESH_SCRIPT_NAME = "refresh.sh"


def script_files(name: str) -> dict[str, str]:
    """A ConfigMap's files: the script ``name`` and the library it sources, side by side."""
    return {name: script(name), LIBRARY_NAME: script(LIBRARY_NAME)}


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


ESC_ENVIRONMENTS_VARIABLE = "KEYLESS_ESC_ENVIRONMENTS"
"""The login script's list of ESC environments to open (space-separated)."""

esc_environment_ref = pattern(
    r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*",
    "an ESC environment",
    "<organization>/<project>/<environment>",
)

LOGIN_JOB = Spec(
    "OidcLoginJob",
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
        "exchanged_token_lifetime": Field(token_lifetime, DEFAULT_EXCHANGED_TOKEN_LIFETIME),
        "backend_url": Field(https_url, DEFAULT_BACKEND_URL),
        "active_deadline_seconds": Field(int_range(30, 3600), DEFAULT_ACTIVE_DEADLINE_SECONDS, "int"),
        "await_timeout_seconds": Field(int_range(60, 7200), DEFAULT_AWAIT_TIMEOUT_SECONDS, "int"),
        "run_as_user": Field(int_range(1, 2_147_483_647), DEFAULT_RUN_AS_USER, "int"),
        "network_policy": Field(boolean, True, "bool"),
        "canary_schedule": Field(cron_schedule),
        "esc_environments": Field(list_of(esc_environment_ref), (), "list"),
        "pod_labels": Field(kind="map"),
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
    request: LoginRequest, doctor_command: str | None = None, esc_environments: Sequence[str] = ()
) -> dict[str, str]:
    """The login script's environment: the request, a writable home, the doctor to suggest, and
    the ESC environments to open with the token obtained."""
    environment = {
        **request.environment(),
        "PULUMI_HOME": f"{HOME_DIR}/.pulumi",
        "HOME": HOME_DIR,
        "TMPDIR": "/tmp",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    if doctor_command:
        environment["KEYLESS_DOCTOR_COMMAND"] = doctor_command
    if esc_environments:
        environment[ESC_ENVIRONMENTS_VARIABLE] = " ".join(esc_environments)
    return environment


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


CREDENTIALS_DIR = "/pulumi-credentials"
"""Where the sidecar publishes the CLI's credentials: the application's ``PULUMI_CREDENTIALS_PATH``."""
SIDECAR_SCRIPT_DIR = "/opt/keyless"
DEFAULT_REFRESH_PERCENT = 50
DEFAULT_SIDECAR_LIFETIME = "2h"
DEFAULT_FS_GROUP = 10001
"""The pod's fsGroup: the group that owns the shared credentials, so an application of another UID reads them."""

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
        "exchanged_token_lifetime": Field(token_lifetime, DEFAULT_SIDECAR_LIFETIME),
        "refresh_percent": Field(int_range(10, 90), DEFAULT_REFRESH_PERCENT, "int"),
        "fs_group": Field(int_range(1, 2_147_483_647), DEFAULT_FS_GROUP, "int"),
        "pod_labels": Field(kind="map"),
        "credential_endpoints": Field(list_of(credential_endpoint), (), "list"),
    },
)
"""The sidecar's arguments: the login Job's rules, how often to renew, and the pod's fsGroup."""


def sidecar_environment(request: LoginRequest, refresh_percent: int) -> list[dict[str, str]]:
    """The refresher's environment (wire form); the token itself is only ever a file."""
    values = {
        **request.environment(),
        "KEYLESS_CREDENTIALS_DIR": CREDENTIALS_DIR,
        "KEYLESS_REFRESH_PERCENT": str(refresh_percent),
        "HOME": HOME_DIR,
        "TMPDIR": "/tmp",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_CREDENTIAL_STORE": "plaintext",
    }
    return [{"name": key, "value": values[key]} for key in sorted(values)]


def application_environment(backend_url: str) -> list[dict[str, str]]:
    """The application container's environment beside the sidecar: where its CLI finds the
    credentials (its own PULUMI_HOME stays its own), and the same credential format."""
    return [
        {"name": "PULUMI_CREDENTIALS_PATH", "value": CREDENTIALS_DIR},
        {"name": "PULUMI_CREDENTIAL_STORE", "value": "plaintext"},
        {"name": "PULUMI_BACKEND_URL", "value": backend_url},
        {"name": "PULUMI_SKIP_UPDATE_CHECK", "value": "true"},
    ]
