"""A Job that logs in to Pulumi Cloud with its pod's projected service-account token.

It proves the whole keyless chain on every ``pulumi up``: the cluster issues a token with
audience ``urn:pulumi:org:<org>``, Pulumi Cloud accepts it under the issuer's policy, and the
CLI ends up logged in without any stored access token.
"""

import re
from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components._common import (
    MIN_PROJECTED_TOKEN_SECONDS,
    InvalidArgumentError,
    check_choice,
    check_dns1123_label,
    check_int_range,
    check_non_empty,
    check_pinned_image,
    child_opts,
    metadata_field,
    type_token,
    when_plain,
)
from components.pulumi_cloud_trust import pulumi_audience

DEFAULT_IMAGE = "pulumi/pulumi-base:3.272.0"
"""Debian slim with the Pulumi CLI only; 3.209.0 brought ``--oidc-*`` and 3.216.0 the API default."""
DEFAULT_BACKEND_URL = "https://api.pulumi.com"
DEFAULT_RUN_AS_USER = 10001
DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600
DEFAULT_EXCHANGED_TOKEN_LIFETIME = "1h"
DEFAULT_ACTIVE_DEADLINE_SECONDS = 300
DEFAULT_AWAIT_TIMEOUT_SECONDS = 600
LOGIN_TOKEN_TYPES = ("organization", "team", "personal")
"""Token types the CLI can request; ``runner`` tokens are for customer-managed deployment agents."""

TOKEN_DIR = "/var/run/secrets/pulumi"
TOKEN_FILE = f"{TOKEN_DIR}/token"
SCRIPT_DIR = "/opt/pulumi-oidc"
SCRIPT_NAME = "login.sh"
HOME_DIR = "/home/runner"

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")

LOGIN_SCRIPT = r"""#!/bin/bash
# Exchange this pod's projected service-account token for a short-lived Pulumi Cloud token,
# then show who we are. The CLI reads the token from its file: the token never reaches this
# script's output, the environment or any command line.
set -euo pipefail

: "${PULUMI_OIDC_TOKEN_FILE:?names the projected token file}"
: "${PULUMI_OIDC_ORG:?names the Pulumi organization}"
: "${PULUMI_BACKEND_URL:?names the Pulumi Cloud API}"

# The CLI refuses a token exchange while an access token is set.
unset PULUMI_ACCESS_TOKEN

if [[ ! -s "${PULUMI_OIDC_TOKEN_FILE}" ]]; then
  echo "error: no service-account token at ${PULUMI_OIDC_TOKEN_FILE}" >&2
  exit 1
fi

# Print the claims Pulumi Cloud matches the policy against, so that a refused exchange can
# be diagnosed from the Job's logs. Only the payload is decoded; the signature is never shown.
describe_token() {
  local payload claims name value
  payload="$(cut -d. -f2 "${PULUMI_OIDC_TOKEN_FILE}" | tr -- '-_' '+/')"
  while (( ${#payload} % 4 )); do payload+="="; done
  claims="$(printf '%s' "${payload}" | base64 -d 2>/dev/null)" || claims=""
  echo "Service-account token claims:"
  for name in iss sub aud exp; do
    value="$(printf '%s' "${claims}" | grep -o -E "\"${name}\" *: *(\"[^\"]*\"|\[[^]]*\]|[0-9]+)" | head -n 1 | sed -E 's/^"[^"]*" *: *//')" || value=""
    echo "  ${name}: ${value:-<absent>}"
  done
}
describe_token

login_args=(login "${PULUMI_BACKEND_URL}" --oidc-token "file://${PULUMI_OIDC_TOKEN_FILE}" --oidc-org "${PULUMI_OIDC_ORG}")
if [[ -n "${PULUMI_OIDC_TEAM:-}" ]]; then login_args+=(--oidc-team "${PULUMI_OIDC_TEAM}"); fi
if [[ -n "${PULUMI_OIDC_USER:-}" ]]; then login_args+=(--oidc-user "${PULUMI_OIDC_USER}"); fi
if [[ -n "${PULUMI_OIDC_EXPIRATION:-}" ]]; then login_args+=(--oidc-expiration "${PULUMI_OIDC_EXPIRATION}"); fi

echo "Exchanging the token at ${PULUMI_BACKEND_URL} for organization ${PULUMI_OIDC_ORG}"
pulumi "${login_args[@]}"
pulumi whoami -v
"""


class OidcLoginRunnerArgs(TypedDict):
    namespace: pulumi.Input[str]
    """Namespace the Job runs in (Pod Security ``restricted`` is satisfied)."""
    service_account_name: pulumi.Input[str]
    """Service account whose projected token is exchanged."""
    organization: pulumi.Input[str]
    """Pulumi organization to log in to; also fixes the token audience."""
    token_type: str
    """Token requested: organization, team (needs team_name) or personal (needs user_login)."""
    team_name: NotRequired[pulumi.Input[str]]
    """Team of a team token (``--oidc-team``)."""
    user_login: NotRequired[pulumi.Input[str]]
    """User of a personal token (``--oidc-user``)."""
    image: NotRequired[str]
    """Pinned image with the Pulumi CLI >= 3.209.0; a tag other than latest, or a digest."""
    token_expiration_seconds: NotRequired[int]
    """Lifetime of the projected service-account token (>= 600; default 3600)."""
    exchanged_token_lifetime: NotRequired[str]
    """Lifetime of the Pulumi token obtained (``--oidc-expiration``), e.g. 15m or 2h (default 1h)."""
    backend_url: NotRequired[str]
    """Pulumi Cloud API URL (default https://api.pulumi.com)."""
    active_deadline_seconds: NotRequired[int]
    """Kubernetes stops the Job after this many seconds (default 300)."""
    await_timeout_seconds: NotRequired[int]
    """How long ``pulumi up`` waits for the Job to complete (default 600)."""
    run_as_user: NotRequired[int]
    """Numeric non-root UID (and GID) the container runs as (default 10001)."""
    network_policy: NotRequired[bool]
    """Confine the Job's pod to DNS and HTTPS egress, with no ingress (default true). Enforced where
    the cluster enforces NetworkPolicy (GKE Dataplane V2, the EKS VPC CNI with policies on)."""


def duration_seconds(key: str, value: object) -> int:
    """Seconds in a duration such as ``90m``, ``2h`` or ``1h30m`` (as ``--oidc-expiration`` takes)."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not value or match is None or not any(match.groups()):
        raise InvalidArgumentError(
            f"{key}: {value!r} is not a duration; expected hours, minutes and/or seconds such as '15m', '2h' or '1h30m'"
        )
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def login_environment(
    *,
    organization: str,
    token_type: str,
    team_name: str | None = None,
    user_login: str | None = None,
    exchanged_token_lifetime: str = DEFAULT_EXCHANGED_TOKEN_LIFETIME,
    backend_url: str = DEFAULT_BACKEND_URL,
) -> dict[str, str]:
    """Environment of the login script; it turns these into ``pulumi login`` flags."""
    check_choice("token_type", token_type, LOGIN_TOKEN_TYPES)
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
    if token_type == "team":
        environment["PULUMI_OIDC_TEAM"] = check_non_empty("team_name", team_name)
    elif token_type == "personal":
        environment["PULUMI_OIDC_USER"] = check_non_empty("user_login", user_login)
    return environment


def runner_pod_spec(
    *,
    image: str,
    service_account_name: pulumi.Input[str],
    script_config_map_name: pulumi.Input[str],
    audience: pulumi.Input[str],
    environment: pulumi.Input[Mapping[str, str]],
    token_expiration_seconds: int = DEFAULT_TOKEN_EXPIRATION_SECONDS,
    run_as_user: int = DEFAULT_RUN_AS_USER,
) -> k8s.core.v1.PodSpecArgs:
    """Pod of the login Job, admitted by the ``restricted`` Pod Security Standard."""
    env = pulumi.Output.from_input(environment).apply(
        lambda values: [k8s.core.v1.EnvVarArgs(name=key, value=values[key]) for key in sorted(values)]
    )
    return k8s.core.v1.PodSpecArgs(
        service_account_name=service_account_name,
        # The API token is not needed; the only token mounted is the projected one below.
        automount_service_account_token=False,
        enable_service_links=False,
        restart_policy="Never",
        security_context=k8s.core.v1.PodSecurityContextArgs(
            run_as_non_root=True,
            run_as_user=run_as_user,
            run_as_group=run_as_user,
            fs_group=run_as_user,
            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
        ),
        containers=[
            k8s.core.v1.ContainerArgs(
                name="login",
                image=image,
                image_pull_policy="Always",
                command=[f"{SCRIPT_DIR}/{SCRIPT_NAME}"],
                env=env,
                resources=k8s.core.v1.ResourceRequirementsArgs(
                    requests={"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "64Mi"},
                    limits={"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "256Mi"},
                ),
                security_context=k8s.core.v1.SecurityContextArgs(
                    run_as_non_root=True,
                    run_as_user=run_as_user,
                    run_as_group=run_as_user,
                    allow_privilege_escalation=False,
                    privileged=False,
                    read_only_root_filesystem=True,
                    capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
                    seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
                ),
                # Whole-directory mounts only: a subPath mount is never refreshed, and the
                # kubelet rotates the token in place at 80% of its lifetime.
                volume_mounts=[
                    k8s.core.v1.VolumeMountArgs(name="pulumi-oidc-token", mount_path=TOKEN_DIR, read_only=True),
                    k8s.core.v1.VolumeMountArgs(name="login-script", mount_path=SCRIPT_DIR, read_only=True),
                    k8s.core.v1.VolumeMountArgs(name="home", mount_path=HOME_DIR),
                    k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
                ],
            )
        ],
        volumes=[
            k8s.core.v1.VolumeArgs(
                name="pulumi-oidc-token",
                projected=k8s.core.v1.ProjectedVolumeSourceArgs(
                    sources=[
                        k8s.core.v1.VolumeProjectionArgs(
                            service_account_token=k8s.core.v1.ServiceAccountTokenProjectionArgs(
                                audience=audience,
                                expiration_seconds=token_expiration_seconds,
                                path="token",
                            )
                        )
                    ]
                ),
            ),
            # 0o555: ConfigMap files are root-owned, so the non-root user needs "other" execute.
            k8s.core.v1.VolumeArgs(
                name="login-script",
                config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=script_config_map_name, default_mode=0o555),
            ),
            k8s.core.v1.VolumeArgs(name="home", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="128Mi")),
            k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="64Mi")),
        ],
    )


def runner_pod_labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "pulumi-oidc-login", "app.kubernetes.io/instance": name}


def runner_network_policy_spec(pod_labels: Mapping[str, str]) -> k8s.networking.v1.NetworkPolicySpecArgs:
    """No ingress; egress only to DNS and to HTTPS (the Pulumi Cloud API)."""
    return k8s.networking.v1.NetworkPolicySpecArgs(
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(pod_labels)),
        policy_types=["Ingress", "Egress"],
        ingress=[],
        egress=[
            k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                ports=[
                    k8s.networking.v1.NetworkPolicyPortArgs(protocol="UDP", port=53),
                    k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=53),
                ]
            ),
            k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=443)]
            ),
        ],
    )


def job_annotations(await_timeout_seconds: int) -> dict[str, str]:
    """Pulumi-Kubernetes await settings: bounded wait, and a failed Job is re-run on the next up."""
    return {
        "pulumi.com/timeoutSeconds": str(await_timeout_seconds),
        "pulumi.com/replaceUnready": "true",
    }


def _as_list(depends_on: object) -> list[pulumi.Resource]:
    if depends_on is None:
        return []
    if isinstance(depends_on, pulumi.Resource):
        return [depends_on]
    if isinstance(depends_on, Sequence):
        return [item for item in depends_on if isinstance(item, pulumi.Resource)]
    return []


class OidcLoginRunner(pulumi.ComponentResource):
    """ConfigMap holding the login script, and the Job that runs it once per change.

    Resources in ``opts.depends_on`` (the issuer registration and the service account) are
    made explicit dependencies of the ConfigMap and the Job, so the first login cannot race them.
    """

    job_name: pulumi.Output[str]
    """Name of the Job: ``kubectl logs -n <namespace> job/<job_name>``."""
    script_config_map_name: pulumi.Output[str]
    """Name of the ConfigMap holding the login script."""
    audience: pulumi.Output[str]
    """Audience of the projected token the Job presents."""

    def __init__(self, name: str, args: OidcLoginRunnerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        token_type = check_choice("token_type", args.get("token_type"), LOGIN_TOKEN_TYPES)
        for field, wanted in (("team_name", "team"), ("user_login", "personal")):
            if args.get(field) is not None and token_type != wanted:
                raise InvalidArgumentError(
                    f"{field}: given with token_type {token_type!r}; it applies to token_type {wanted!r} only"
                )
            if args.get(field) is None and token_type == wanted:
                raise InvalidArgumentError(f"{field}: missing; token_type {wanted!r} needs it")
        when_plain(args.get("namespace"), lambda v: check_dns1123_label("namespace", v))
        when_plain(args.get("service_account_name"), lambda v: check_dns1123_label("service_account_name", v))
        when_plain(args.get("organization"), lambda v: check_non_empty("organization", v))
        image = check_pinned_image("image", args.get("image", DEFAULT_IMAGE))
        token_seconds = check_int_range(
            "token_expiration_seconds",
            args.get("token_expiration_seconds", DEFAULT_TOKEN_EXPIRATION_SECONDS),
            minimum=MIN_PROJECTED_TOKEN_SECONDS,
        )
        lifetime = args.get("exchanged_token_lifetime", DEFAULT_EXCHANGED_TOKEN_LIFETIME)
        duration_seconds("exchanged_token_lifetime", lifetime)
        backend_url = args.get("backend_url", DEFAULT_BACKEND_URL)
        if not isinstance(backend_url, str) or not backend_url.startswith("https://"):
            raise InvalidArgumentError(f"backend_url: {backend_url!r} is not an https:// URL")
        deadline = check_int_range(
            "active_deadline_seconds", args.get("active_deadline_seconds", DEFAULT_ACTIVE_DEADLINE_SECONDS), minimum=30
        )
        await_timeout = check_int_range(
            "await_timeout_seconds", args.get("await_timeout_seconds", DEFAULT_AWAIT_TIMEOUT_SECONDS), minimum=60
        )
        run_as_user = check_int_range("run_as_user", args.get("run_as_user", DEFAULT_RUN_AS_USER), minimum=1)
        network_policy = args.get("network_policy", True)
        if not isinstance(network_policy, bool):
            raise InvalidArgumentError(f"network_policy: {network_policy!r} is not accepted; expected true or false")

        super().__init__(type_token("OidcLoginRunner"), name, None, opts)
        wait_for = _as_list(opts.depends_on if opts else None)

        audience = pulumi.Output.from_input(args["organization"]).apply(pulumi_audience)
        environment = pulumi.Output.all(args["organization"], args.get("team_name"), args.get("user_login")).apply(
            lambda values: login_environment(
                organization=values[0],
                token_type=token_type,
                team_name=values[1],
                user_login=values[2],
                exchanged_token_lifetime=lifetime,
                backend_url=backend_url,
            )
        )

        # Auto-named and immutable: a new script is a new ConfigMap, which changes the Job's
        # pod template, which makes Pulumi replace (and so re-run) the Job.
        script = k8s.core.v1.ConfigMap(
            f"{name}-script",
            metadata=k8s.meta.v1.ObjectMetaArgs(namespace=args["namespace"]),
            data={SCRIPT_NAME: LOGIN_SCRIPT},
            immutable=True,
            opts=child_opts(self, depends_on=wait_for),
        )
        pod_labels = runner_pod_labels(name)
        job_waits_for: list[pulumi.Resource] = [script, *wait_for]
        if network_policy:
            # Created before the Job, so its pod never runs unconfined.
            policy = k8s.networking.v1.NetworkPolicy(
                name,
                metadata=k8s.meta.v1.ObjectMetaArgs(namespace=args["namespace"]),
                spec=runner_network_policy_spec(pod_labels),
                opts=child_opts(self, depends_on=wait_for),
            )
            job_waits_for.append(policy)
        job = k8s.batch.v1.Job(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                namespace=args["namespace"], annotations=job_annotations(await_timeout)
            ),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=0,
                active_deadline_seconds=deadline,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=pod_labels),
                    spec=runner_pod_spec(
                        image=image,
                        service_account_name=args["service_account_name"],
                        script_config_map_name=metadata_field(script.metadata, "name"),
                        audience=audience,
                        environment=environment,
                        token_expiration_seconds=token_seconds,
                        run_as_user=run_as_user,
                    ),
                ),
            ),
            opts=child_opts(self, depends_on=job_waits_for),
        )

        self.job_name = metadata_field(job.metadata, "name")
        self.script_config_map_name = metadata_field(script.metadata, "name")
        self.audience = audience
        self.register_outputs(
            {
                "job_name": self.job_name,
                "script_config_map_name": self.script_config_map_name,
                "audience": self.audience,
            }
        )
