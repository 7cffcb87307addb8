"""A Job that logs in to Pulumi Cloud with its pod's projected service-account token.

It proves the whole keyless chain on every ``pulumi up``: the cluster issues a token with
audience ``urn:pulumi:org:<org>``, Pulumi Cloud accepts it under the issuer's policy, and the
CLI ends up logged in without any stored access token. The script is ``keyless/scripts/login.sh``.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from keyless.components._common import child_opts, metadata_field, validated, wire
from keyless.core.kubernetes import (
    egress_only,
    projected_token_volume,
    recommended_labels,
    restricted_pod_security_context,
    restricted_security_context,
)
from keyless.core.login_job import (
    CANARY_HISTORY,
    CANARY_STARTING_DEADLINE_SECONDS,
    DEFAULT_RUN_AS_USER,
    DEFAULT_TOKEN_EXPIRATION_SECONDS,
    HOME_DIR,
    LOGIN_JOB,
    SCRIPT_DIR,
    SCRIPT_NAME,
    doctor_command,
    job_annotations,
    login_environment,
    pod_labels,
    pod_selector,
    script_files,
)
from keyless.core.login_request import TOKEN_DIR, LoginRequest
from keyless.core.naming import type_token
from keyless.core.pulumi_cloud import TokenType, pulumi_audience


class OidcLoginJobArgs(TypedDict):
    namespace: pulumi.Input[str]
    """Namespace the Job runs in (Pod Security ``restricted`` is satisfied)."""
    service_account_name: pulumi.Input[str]
    """Service account whose projected token is exchanged."""
    organization: pulumi.Input[str]
    """Pulumi organization to log in to; also fixes the token audience."""
    token_type: TokenType
    """Token requested: organization, team (needs team_name) or personal (needs user_login)."""
    team_name: NotRequired[pulumi.Input[str]]
    """Team of a team token (``--oidc-team``)."""
    user_login: NotRequired[pulumi.Input[str]]
    """User of a personal token (``--oidc-user``)."""
    image: NotRequired[pulumi.Input[str]]
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
    canary_schedule: NotRequired[str]
    """Also run the login check on this cron schedule (e.g. "0 * * * *"), as a CronJob with the same pod:
    it proves the trust still holds after the issuer's policies, thumbprints or roles change."""
    pod_labels: NotRequired[Mapping[str, str]]
    """More labels on the Job's (and the canary's) pods, e.g. ``azure.workload.identity/use`` for an
    Azure identity, whose webhook selects pods by it."""
    esc_environments: NotRequired[Sequence[str]]
    """ESC environments (<org>/<project>/<env>) the login also opens with the token obtained, values
    discarded: it fails on a refusal (exit 4), a missing environment (5) or an unreadable answer (6)."""
    network_policy: NotRequired[bool]
    """Confine the Job's pod to DNS and HTTPS egress, with no ingress (default true). Enforced where
    the cluster enforces NetworkPolicy (GKE Dataplane V2, the EKS VPC CNI with policies on)."""


def _resolved(uid: pulumi.Input[int], build: Callable[[int], dict[str, Any]]) -> Any:
    """A wire-form security context from keyless.core, now when the UID is plain, else once it resolves."""
    return build(uid) if isinstance(uid, int) else pulumi.Output.from_input(uid).apply(build)  # type: ignore[arg-type]


def login_pod_spec(
    *,
    image: pulumi.Input[str],
    service_account_name: pulumi.Input[str],
    script_config_map_name: pulumi.Input[str],
    audience: pulumi.Input[str],
    environment: pulumi.Input[Mapping[str, str]],
    token_expiration_seconds: pulumi.Input[int] = DEFAULT_TOKEN_EXPIRATION_SECONDS,
    run_as_user: pulumi.Input[int] = DEFAULT_RUN_AS_USER,
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
        # The restricted standard's contexts, from keyless.core (the sidecar uses the same).
        security_context=_resolved(run_as_user, restricted_pod_security_context),
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
                security_context=_resolved(run_as_user, restricted_security_context),
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
            projected_token_volume("pulumi-oidc-token", audience, token_expiration_seconds),  # type: ignore[list-item]
            # 0o555: ConfigMap files are root-owned, so the non-root user needs "other" execute.
            k8s.core.v1.VolumeArgs(
                name="login-script",
                config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=script_config_map_name, default_mode=0o555),
            ),
            k8s.core.v1.VolumeArgs(name="home", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="128Mi")),
            k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="64Mi")),
        ],
    )


def _as_list(depends_on: object) -> list[pulumi.Resource]:
    if depends_on is None:
        return []
    if isinstance(depends_on, pulumi.Resource):
        return [depends_on]
    if isinstance(depends_on, Sequence):
        return [item for item in depends_on if isinstance(item, pulumi.Resource)]
    return []


class OidcLoginJob(pulumi.ComponentResource):
    """ConfigMap holding the login script, and the Job that runs it once per change.

    Resources in ``opts.depends_on`` (the issuer registration and the service account) are
    made explicit dependencies of the ConfigMap and the Job, so the first login cannot race them.
    """

    _type_name: ClassVar[str] = "OidcLoginJob"
    _earlier_type_names: ClassVar[tuple[str, ...]] = ("OidcLoginRunner",)
    """Type names it had: a live stack's resources move to the new type instead of being replaced
    (the engine gives each child its parent's aliases too)."""
    _deprecated: ClassVar[str | None] = None
    """Why this name is deprecated, warned about on every use and published in the package schema."""

    job_name: pulumi.Output[str]
    """Name of the Job: ``kubectl logs -n <namespace> job/<job_name>``."""
    script_config_map_name: pulumi.Output[str]
    """Name of the ConfigMap holding the login script."""
    audience: pulumi.Output[str]
    """Audience of the projected token the Job presents."""
    canary_name: pulumi.Output[str | None]
    """Name of the canary CronJob, when a schedule is given."""

    def __init__(self, name: str, args: OidcLoginJobArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        checked = validated(LOGIN_JOB, args)
        wait_for = _as_list(opts.depends_on if opts else None)
        earlier = [pulumi.Alias(type_=type_token(type_name)) for type_name in self._earlier_type_names]
        super().__init__(
            type_token(self._type_name),
            name,
            None,
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=earlier)),
        )
        if self._deprecated:
            pulumi.log.warn(self._deprecated, resource=self)

        audience = pulumi.Output.from_input(checked["organization"]).apply(pulumi_audience)
        token_type = checked["token_type"]
        environments = list(checked["esc_environments"] or ())
        stack = pulumi.get_stack()
        environment = pulumi.Output.all(
            checked["organization"],
            checked["team_name"],
            checked["user_login"],
            checked["exchanged_token_lifetime"],
            checked["backend_url"],
            checked["namespace"],
            checked["service_account_name"],
        ).apply(
            lambda values: login_environment(
                LoginRequest.of(values[0], token_type, values[1], values[2], lifetime=values[3], backend_url=values[4]),
                doctor_command(stack, values[5], values[6]),
                environments,
            )
        )

        # Auto-named and immutable: a new script is a new ConfigMap, which changes the Job's
        # pod template, which makes Pulumi replace (and so re-run) the Job.
        script = k8s.core.v1.ConfigMap(
            f"{name}-script",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                namespace=checked["namespace"], labels=recommended_labels(name, "login-script")
            ),
            data=script_files(SCRIPT_NAME),
            immutable=True,
            opts=child_opts(self, depends_on=wait_for),
        )
        labels = pod_labels(name)
        extra = dict(checked["pod_labels"] or {})
        pod = login_pod_spec(
            image=checked["image"],
            service_account_name=checked["service_account_name"],
            script_config_map_name=metadata_field(script.metadata, "name"),
            audience=audience,
            environment=environment,
            token_expiration_seconds=checked["token_expiration_seconds"],
            run_as_user=checked["run_as_user"],
        )
        job_waits_for: list[pulumi.Resource] = [script, *wait_for]
        if checked["network_policy"]:
            # Created before the Job. Where policies are enforced at pod start (GKE Dataplane V2) the
            # pod never runs unconfined; the EKS VPC CNI in its default (standard) mode allows a new
            # pod's traffic until its policies are applied, a window only its strict mode closes.
            policy = k8s.networking.v1.NetworkPolicy(
                name,
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    namespace=checked["namespace"], labels=recommended_labels(name, "login-network-policy")
                ),
                spec=wire(egress_only({"matchLabels": pod_selector(name)})),
                opts=child_opts(self, depends_on=wait_for),
            )
            job_waits_for.append(policy)
        job = k8s.batch.v1.Job(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                namespace=checked["namespace"],
                labels=labels,
                annotations=pulumi.Output.from_input(checked["await_timeout_seconds"]).apply(job_annotations),
            ),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=0,
                active_deadline_seconds=checked["active_deadline_seconds"],
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels={**labels, **extra}), spec=pod
                ),
            ),
            opts=child_opts(self, depends_on=job_waits_for),
        )

        self.canary_name = pulumi.Output.from_input(None)
        if checked["canary_schedule"] is not None:
            canary_labels = pod_labels(name, "login-canary")
            canary = k8s.batch.v1.CronJob(
                f"{name}-canary",
                metadata=k8s.meta.v1.ObjectMetaArgs(namespace=checked["namespace"], labels=canary_labels),
                spec=k8s.batch.v1.CronJobSpecArgs(
                    schedule=checked["canary_schedule"],
                    # One check at a time, none started late, a bounded history to read.
                    concurrency_policy="Forbid",
                    starting_deadline_seconds=CANARY_STARTING_DEADLINE_SECONDS,
                    successful_jobs_history_limit=CANARY_HISTORY,
                    failed_jobs_history_limit=CANARY_HISTORY,
                    job_template=k8s.batch.v1.JobTemplateSpecArgs(
                        metadata=k8s.meta.v1.ObjectMetaArgs(labels=canary_labels),
                        spec=k8s.batch.v1.JobSpecArgs(
                            backoff_limit=0,
                            active_deadline_seconds=checked["active_deadline_seconds"],
                            template=k8s.core.v1.PodTemplateSpecArgs(
                                metadata=k8s.meta.v1.ObjectMetaArgs(labels={**canary_labels, **extra}), spec=pod
                            ),
                        ),
                    ),
                ),
                opts=child_opts(self, depends_on=job_waits_for),
            )
            self.canary_name = metadata_field(canary.metadata, "name")
        self.job_name = metadata_field(job.metadata, "name")
        self.script_config_map_name = metadata_field(script.metadata, "name")
        self.audience = audience
        self.register_outputs(
            {
                "job_name": self.job_name,
                "script_config_map_name": self.script_config_map_name,
                "audience": self.audience,
                "canary_name": self.canary_name,
            }
        )


class OidcLoginRunner(OidcLoginJob):
    """Deprecated: use ``OidcLoginJob``, whose alias moves a stack's login Job without replacing it.
    This is ``OidcLoginJob`` under its earlier name and type token, served until 0.3.0 so that a
    stack moves when its program switches, not when it upgrades."""

    _type_name: ClassVar[str] = "OidcLoginRunner"
    _earlier_type_names: ClassVar[tuple[str, ...]] = ()
    _deprecated: ClassVar[str | None] = (
        "OidcLoginRunner is deprecated and served until 0.3.0: use OidcLoginJob (keyless:index:OidcLoginJob), "
        "whose alias moves a stack's login Job without replacing it"
    )


OidcLoginRunnerArgs = OidcLoginJobArgs
"""Deprecated: the args of :class:`OidcLoginJob` under their 0.x name."""
