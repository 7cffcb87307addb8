"""A Pulumi Kubernetes Operator ``Stack`` whose workspace logs in to Pulumi Cloud with its own
service account's projected token: no ``accessTokenSecret``, no ``PULUMI_ACCESS_TOKEN``, no Secret
holding a token. The refresher runs as a native sidecar in the workspace pod (see
:mod:`keyless.core.operator`); the service account, its cloud identity and its issuer policy are a
workload's (``WorkloadServiceAccount``, an identity mode, ``PulumiCloudTrust``)."""

from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from keyless.components._common import child_opts, validated
from keyless.components.keyless_pulumi_sidecar import KeylessPulumiSidecar, KeylessPulumiSidecarArgs
from keyless.core.kubernetes import recommended_labels
from keyless.core.naming import type_token
from keyless.core.operator import API_VERSION, OPERATOR_STACK, WORKSPACE_UID, stack_spec, workspace_pod_template
from keyless.core.pulumi_cloud import TokenType


class KeylessOperatorStackArgs(TypedDict):
    """Plain values: the ``Stack`` is written from them as they are."""

    namespace: str
    """Namespace of the Stack and its workspace."""
    name: str
    """Name of the Stack object."""
    service_account_name: str
    """The workspace pod's service account: the one the issuer's policy names."""
    organization: str
    """Pulumi organization the workspace logs in to; also fixes the token audience."""
    token_type: TokenType
    """Token the workspace requests: organization, team (needs team_name) or personal (needs user_login)."""
    team_name: NotRequired[str]
    """Team of a team token."""
    user_login: NotRequired[str]
    """User of a personal token."""
    stack: str
    """The Pulumi stack, e.g. acme/networking/prod."""
    project_repo: NotRequired[str]
    """Git repository of the program (with branch or commit)."""
    branch: NotRequired[str]
    """Branch to track."""
    commit: NotRequired[str]
    """Commit to deploy."""
    repo_dir: NotRequired[str]
    """Folder of the program in the repository."""
    program_ref: NotRequired[str]
    """A pulumi.com/v1 Program in the same namespace, instead of a repository."""
    config: NotRequired[Mapping[str, str]]
    """Stack config values."""
    environment: NotRequired[Sequence[str]]
    """ESC environments the stack imports."""
    resync_frequency_seconds: NotRequired[int]
    """How often the Operator re-runs the stack (default 300)."""
    refresh: NotRequired[bool]
    """Refresh before each update (default true)."""
    destroy_on_finalize: NotRequired[bool]
    """Destroy the stack's resources when the Stack object is deleted (default false)."""
    workspace_image: NotRequired[str]
    """Pinned workspace image (default pulumi/pulumi:3.272.0-nonroot)."""
    exchanged_token_lifetime: NotRequired[str]
    """Lifetime of each Pulumi token requested (default 2h, at most the issuer's maximum)."""
    longest_update: NotRequired[str]
    """The longest update this stack runs (default 45m): the token must outlive it."""
    refresh_percent: NotRequired[int]
    """Renew after this share of the token's lifetime (default 50)."""
    pod_labels: NotRequired[Mapping[str, str]]
    """Labels on the workspace pod, e.g. ``azure.workload.identity/use`` for an Azure identity."""


class KeylessOperatorStack(pulumi.ComponentResource):
    """An Operator Stack that runs with no stored Pulumi token."""

    stack_name: pulumi.Output[str]
    """Name of the Stack object."""
    service_account_name: pulumi.Output[str]
    """The workspace's service account."""

    def __init__(self, name: str, args: KeylessOperatorStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        checked = validated(OPERATOR_STACK, args)
        super().__init__(type_token("KeylessOperatorStack"), name, None, opts)

        login: KeylessPulumiSidecarArgs = {
            "namespace": checked["namespace"],
            "organization": checked["organization"],
            "token_type": checked["token_type"],
            "exchanged_token_lifetime": checked["exchanged_token_lifetime"],
            "refresh_percent": checked["refresh_percent"],
            # The workspace runs as 1000:1000; this group shares the credentials with it.
            "fs_group": WORKSPACE_UID,
        }
        for field in ("team_name", "user_login"):
            if checked[field] is not None:
                login[field] = checked[field]
        sidecar = KeylessPulumiSidecar(f"{name}-login", login, child_opts(self))
        pod_template = pulumi.Output.all(
            sidecar.init_containers,
            sidecar.volumes,
            sidecar.app_env,
            sidecar.app_volume_mounts,
            sidecar.pod_security_context,
        ).apply(
            lambda parts: workspace_pod_template(
                parts[0], parts[1], parts[2], parts[3], parts[4], checked["pod_labels"]
            )
        )
        k8s.apiextensions.CustomResource(
            name,
            api_version=API_VERSION,
            kind="Stack",
            metadata={
                "name": checked["name"],
                "namespace": checked["namespace"],
                "labels": recommended_labels(name, "operator-stack"),
            },
            spec=pod_template.apply(lambda template: stack_spec(checked, template)),
            opts=child_opts(self, depends_on=[sidecar]),
        )
        self.stack_name = pulumi.Output.from_input(checked["name"])
        self.service_account_name = pulumi.Output.from_input(checked["service_account_name"])
        self.register_outputs({"stack_name": self.stack_name, "service_account_name": self.service_account_name})
