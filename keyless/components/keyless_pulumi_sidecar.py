"""Keeps any pod logged in to Pulumi Cloud for as long as it runs, with no stored token.

The component creates the refresher's ConfigMap and returns what to add to a pod spec: a native
sidecar (an init container with ``restartPolicy: Always``, Kubernetes 1.29+), its volumes, the
pod's ``fsGroup``, and the application container's environment and mount. The application starts
once the first login succeeded; its CLI reads the credentials from a folder the sidecar keeps fresh
(``PULUMI_CREDENTIALS_PATH``), whatever UID it runs as, as long as the pod has the ``fsGroup``.
"""

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from keyless.components._common import child_opts, metadata_field, validated, wire
from keyless.core.kubernetes import (
    egress_only,
    projected_token_volume,
    recommended_labels,
    restricted_security_context,
)
from keyless.core.login_job import (
    CREDENTIALS_DIR,
    HOME_DIR,
    REFRESH_SCRIPT_NAME,
    SIDECAR,
    SIDECAR_SCRIPT_DIR,
    application_environment,
    script_files,
    sidecar_environment,
)
from keyless.core.login_request import TOKEN_DIR, LoginRequest
from keyless.core.naming import type_token
from keyless.core.pulumi_cloud import TokenType, pulumi_audience

_READY = ["test", "-f", f"{CREDENTIALS_DIR}/.keyless-ready"]


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
    """Lifetime of each Pulumi token requested, e.g. 2h (default); Pulumi Cloud may grant less."""
    refresh_percent: NotRequired[int]
    """Re-exchange after this share of the lifetime granted, 10 to 90 (default 50)."""
    token_expiration_seconds: NotRequired[int]
    """Lifetime of the projected service-account token the kubelet rotates (default 3600)."""
    backend_url: NotRequired[str]
    """Pulumi Cloud API URL (default https://api.pulumi.com)."""
    run_as_user: NotRequired[int]
    """Numeric non-root UID (and GID) of the sidecar (default 10001)."""
    fs_group: NotRequired[int]
    """The pod's fsGroup (default 10001): set it on the pod (see ``pod_security_context``); the
    credentials are shared with every container of the pod through this group."""
    pod_labels: NotRequired[pulumi.Input[Mapping[str, str]]]
    """Labels of the pod: when given, a NetworkPolicy confines it to DNS and HTTPS egress, no ingress."""
    credential_endpoints: NotRequired[Sequence[str]]
    """With ``pod_labels``: the node-local endpoints the pod's cloud identity needs, by name:
    ``gke-metadata-server`` (169.254.169.254:80, GKE Workload Identity and direct principals) or
    ``eks-pod-identity-agent`` (169.254.170.23:80, EKS Pod Identity). Default none: IRSA and Entra
    Workload ID need neither, and on EKS and AKS 169.254.169.254 serves the node's own credentials."""


class KeylessPulumiSidecar(pulumi.ComponentResource):
    """A native sidecar that exchanges the pod's projected token and keeps the CLI logged in."""

    init_containers: pulumi.Output[list[dict[str, Any]]]
    """Add to the pod's initContainers: the refresher (restartPolicy Always, startup probe on the first login)."""
    volumes: pulumi.Output[list[dict[str, Any]]]
    """Add to the pod's volumes: the projected token, the scripts, and the shared credentials folder."""
    pod_security_context: pulumi.Output[dict[str, Any]]
    """Merge into the pod's securityContext: the fsGroup that lets every container read the credentials."""
    app_env: pulumi.Output[list[dict[str, Any]]]
    """Add to the application container's env: PULUMI_CREDENTIALS_PATH, the credential format and backend URL."""
    app_volume_mounts: pulumi.Output[list[dict[str, Any]]]
    """Add to the application container's volumeMounts: the shared credentials folder."""
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
            data=script_files(REFRESH_SCRIPT_NAME),
            immutable=True,
            opts=child_opts(self),
        )
        if checked["pod_labels"] is not None:
            endpoints = list(checked["credential_endpoints"])
            k8s.networking.v1.NetworkPolicy(
                name,
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    namespace=checked["namespace"], labels=recommended_labels(name, "pulumi-sidecar")
                ),
                spec=pulumi.Output.from_input(checked["pod_labels"]).apply(
                    lambda labels: wire(egress_only({"matchLabels": dict(labels)}, endpoints=endpoints))
                ),
                opts=child_opts(self),
            )
        token_type = checked["token_type"]
        uid = checked["run_as_user"]
        env = pulumi.Output.all(
            checked["organization"],
            checked["team_name"],
            checked["user_login"],
            checked["exchanged_token_lifetime"],
            checked["backend_url"],
        ).apply(
            lambda values: sidecar_environment(
                LoginRequest.of(values[0], token_type, values[1], values[2], lifetime=values[3], backend_url=values[4]),
                checked["refresh_percent"],
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
                        {"name": "keyless-credentials", "mountPath": CREDENTIALS_DIR},
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
                projected_token_volume("keyless-oidc-token", values[0], expiration),
                {"name": "keyless-refresher", "configMap": {"name": values[1], "defaultMode": 0o555}},
                {"name": "keyless-credentials", "emptyDir": {"sizeLimit": "1Mi"}},
                {"name": "keyless-home", "emptyDir": {"sizeLimit": "64Mi"}},
                {"name": "keyless-tmp", "emptyDir": {"sizeLimit": "64Mi"}},
            ]
        )
        self.pod_security_context = pulumi.Output.from_input({"fsGroup": checked["fs_group"]})
        self.app_env = pulumi.Output.from_input(checked["backend_url"]).apply(application_environment)
        self.app_volume_mounts = pulumi.Output.from_input(
            [{"name": "keyless-credentials", "mountPath": CREDENTIALS_DIR}]
        )
        self.script_config_map_name = metadata_field(script.metadata, "name")
        self.register_outputs(
            {
                "init_containers": self.init_containers,
                "volumes": self.volumes,
                "pod_security_context": self.pod_security_context,
                "app_env": self.app_env,
                "app_volume_mounts": self.app_volume_mounts,
                "script_config_map_name": self.script_config_map_name,
            }
        )
