"""Keeps any pod logged in to Pulumi Cloud for as long as it runs, with no stored token.

The component creates the refresher's ConfigMap and returns what to add to a pod spec: a native
sidecar (an init container with ``restartPolicy: Always``, Kubernetes 1.29+), its volumes, and the
application container's environment and mount. The application starts once the first login
succeeded, and every ``pulumi`` command it runs finds fresh credentials in ``PULUMI_HOME``.
"""

from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components._common import child_opts, metadata_field, validated
from components.oidc_login_runner import runner_network_policy_spec
from keyless.core.kubernetes import recommended_labels, restricted_security_context
from keyless.core.login_job import (
    HOME_DIR,
    REFRESH_SCRIPT_NAME,
    SIDECAR,
    SIDECAR_HOME,
    SIDECAR_SCRIPT_DIR,
    TOKEN_DIR,
    refresh_script,
    sidecar_environment,
)
from keyless.core.naming import type_token
from keyless.core.pulumi_cloud import TokenType, pulumi_audience
from keyless.core.values import duration_seconds

_READY = ["test", "-f", f"{SIDECAR_HOME}/.keyless-ready"]


class KeylessPulumiSidecarArgs(TypedDict):
    namespace: pulumi.Input[str]
    """Namespace of the pod (the refresher's ConfigMap goes there)."""
    organization: pulumi.Input[str]
    """Pulumi organization to stay logged in to; also fixes the token audience."""
    token_type: TokenType
    """Token requested: organization, team (needs team_name) or personal (needs user_login)."""
    team_name: NotRequired[pulumi.Input[str]]
    """Team of a team token."""
    user_login: NotRequired[pulumi.Input[str]]
    """User of a personal token."""
    image: NotRequired[pulumi.Input[str]]
    """Pinned image with the Pulumi CLI >= 3.209.0 (default pulumi/pulumi-base:3.272.0)."""
    exchanged_token_lifetime: NotRequired[str]
    """Lifetime of each Pulumi token obtained, e.g. 2h (default); at most the issuer's maximum."""
    refresh_percent: NotRequired[int]
    """Re-exchange after this share of the lifetime, 10 to 90 (default 50)."""
    token_expiration_seconds: NotRequired[int]
    """Lifetime of the projected service-account token the kubelet rotates (default 3600)."""
    backend_url: NotRequired[str]
    """Pulumi Cloud API URL (default https://api.pulumi.com)."""
    run_as_user: NotRequired[int]
    """Numeric non-root UID (and GID) of the sidecar (default 10001)."""
    pod_labels: NotRequired[pulumi.Input[Mapping[str, str]]]
    """Labels of the pod: when given, a NetworkPolicy confines it to DNS and HTTPS egress, no ingress."""


class KeylessPulumiSidecar(pulumi.ComponentResource):
    """A native sidecar that exchanges the pod's projected token and keeps the CLI logged in."""

    init_containers: pulumi.Output[list[dict[str, Any]]]
    """Add to the pod's initContainers: the refresher (restartPolicy Always, startup probe on the first login)."""
    volumes: pulumi.Output[list[dict[str, Any]]]
    """Add to the pod's volumes: the projected token, the script, and the shared PULUMI_HOME."""
    app_env: pulumi.Output[list[dict[str, Any]]]
    """Add to the application container's env: PULUMI_HOME and the backend URL."""
    app_volume_mounts: pulumi.Output[list[dict[str, Any]]]
    """Add to the application container's volumeMounts: the shared PULUMI_HOME."""
    script_config_map_name: pulumi.Output[str]
    """Name of the ConfigMap holding the refresher."""

    def __init__(self, name: str, args: KeylessPulumiSidecarArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        checked = validated(SIDECAR, args)
        super().__init__(type_token("KeylessPulumiSidecar"), name, None, opts)

        script = k8s.core.v1.ConfigMap(
            f"{name}-refresher",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                namespace=checked["namespace"], labels=recommended_labels(name, "pulumi-sidecar")
            ),
            data={REFRESH_SCRIPT_NAME: refresh_script()},
            immutable=True,
            opts=child_opts(self),
        )
        if checked["pod_labels"] is not None:
            k8s.networking.v1.NetworkPolicy(
                name,
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    namespace=checked["namespace"], labels=recommended_labels(name, "pulumi-sidecar")
                ),
                spec=pulumi.Output.from_input(checked["pod_labels"]).apply(runner_network_policy_spec),
                opts=child_opts(self),
            )
        token_type = checked["token_type"]
        lifetime = duration_seconds(checked["exchanged_token_lifetime"]) or 0
        uid = checked["run_as_user"]
        env = pulumi.Output.all(
            checked["organization"], checked["team_name"], checked["user_login"], checked["backend_url"]
        ).apply(
            lambda values: sidecar_environment(
                organization=values[0],
                token_type=token_type,
                team_name=values[1],
                user_login=values[2],
                lifetime_seconds=lifetime,
                refresh_percent=checked["refresh_percent"],
                backend_url=values[3],
            )
        )
        self.init_containers = pulumi.Output.all(checked["image"], env).apply(
            lambda values: [
                {
                    "name": "pulumi-login",
                    "image": values[0],
                    "imagePullPolicy": "Always",
                    "restartPolicy": "Always",
                    "command": [f"{SIDECAR_SCRIPT_DIR}/{REFRESH_SCRIPT_NAME}"],
                    "env": values[1],
                    "securityContext": restricted_security_context(uid),
                    "resources": {
                        "requests": {"cpu": "50m", "memory": "128Mi", "ephemeral-storage": "64Mi"},
                        "limits": {"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "256Mi"},
                    },
                    # The application starts only once the first exchange published credentials.
                    "startupProbe": {"exec": {"command": _READY}, "periodSeconds": 2, "failureThreshold": 150},
                    "readinessProbe": {"exec": {"command": _READY}, "periodSeconds": 10},
                    "livenessProbe": {"exec": {"command": _READY}, "periodSeconds": 30},
                    "volumeMounts": [
                        # Whole-directory mounts: a subPath mount of the token is never refreshed.
                        {"name": "keyless-oidc-token", "mountPath": TOKEN_DIR, "readOnly": True},
                        {"name": "keyless-refresher", "mountPath": SIDECAR_SCRIPT_DIR, "readOnly": True},
                        {"name": "keyless-pulumi-home", "mountPath": SIDECAR_HOME},
                        {"name": "keyless-home", "mountPath": HOME_DIR},
                        {"name": "keyless-tmp", "mountPath": "/tmp"},
                    ],
                }
            ]
        )
        audience = pulumi.Output.from_input(checked["organization"]).apply(pulumi_audience)
        expiration = checked["token_expiration_seconds"]
        self.volumes = pulumi.Output.all(audience, metadata_field(script.metadata, "name")).apply(
            lambda values: [
                {
                    "name": "keyless-oidc-token",
                    "projected": {
                        "sources": [
                            {
                                "serviceAccountToken": {
                                    "audience": values[0],
                                    "expirationSeconds": expiration,
                                    "path": "token",
                                }
                            }
                        ]
                    },
                },
                {"name": "keyless-refresher", "configMap": {"name": values[1], "defaultMode": 0o555}},
                {"name": "keyless-pulumi-home", "emptyDir": {}},
                {"name": "keyless-home", "emptyDir": {"sizeLimit": "64Mi"}},
                {"name": "keyless-tmp", "emptyDir": {"sizeLimit": "64Mi"}},
            ]
        )
        self.app_env = pulumi.Output.from_input(checked["backend_url"]).apply(
            lambda url: [
                {"name": "PULUMI_HOME", "value": SIDECAR_HOME},
                {"name": "PULUMI_BACKEND_URL", "value": url},
                {"name": "PULUMI_SKIP_UPDATE_CHECK", "value": "true"},
            ]
        )
        self.app_volume_mounts = pulumi.Output.from_input([{"name": "keyless-pulumi-home", "mountPath": SIDECAR_HOME}])
        self.script_config_map_name = metadata_field(script.metadata, "name")
        self.register_outputs(
            {
                "init_containers": self.init_containers,
                "volumes": self.volumes,
                "app_env": self.app_env,
                "app_volume_mounts": self.app_volume_mounts,
                "script_config_map_name": self.script_config_map_name,
            }
        )
