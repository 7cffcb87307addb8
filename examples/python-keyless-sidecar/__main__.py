"""A Deployment whose application runs `pulumi stack ls` every five minutes, for as long as it
runs, logged in by the keyless sidecar: no PULUMI_ACCESS_TOKEN anywhere. The sidecar exchanges
the kubelet-rotated projected token and renews the Pulumi token before it expires."""

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from keyless.components import KeylessPulumiSidecar, TokenType, WorkloadServiceAccount
from keyless.core.kubernetes import restricted_pod_security_context, restricted_security_context

config = pulumi.Config()
provider = k8s.Provider("cluster", kubeconfig=config.require_secret("kubeconfig"))
cluster = pulumi.ResourceOptions(providers=[provider])
labels = {"app.kubernetes.io/name": "stack-lister", "app.kubernetes.io/instance": "stack-lister"}

account = WorkloadServiceAccount("agents.stack-lister", {"namespace": "agents", "name": "stack-lister"}, opts=cluster)
sidecar = KeylessPulumiSidecar(
    "stack-lister",
    {
        "namespace": "agents",
        "organization": config.require("organization"),
        "token_type": TokenType.TEAM,
        "team_name": config.require("team"),
        "exchanged_token_lifetime": "1h",
        "pod_labels": labels,
    },
    opts=cluster,
)


APP_UID = 20000
"""The application runs as another UID than the sidecar (10001): the fsGroup shares the credentials."""


def pod_spec(parts: list[Any]) -> dict[str, Any]:
    init_containers, volumes, env, mounts, pod_context = parts
    return {
        "serviceAccountName": "stack-lister",
        "automountServiceAccountToken": False,
        # The sidecar's fsGroup shares the credentials with the application's UID.
        "securityContext": {**restricted_pod_security_context(APP_UID), **pod_context},
        "initContainers": init_containers,
        "containers": [
            {
                "name": "app",
                "image": "pulumi/pulumi-base:3.272.0",
                "imagePullPolicy": "Always",
                "command": ["/bin/bash", "-c", "while true; do pulumi stack ls --all; sleep 300; done"],
                "env": [*env, {"name": "HOME", "value": "/tmp"}],
                "securityContext": restricted_security_context(APP_UID),
                # Ready while the sidecar keeps credentials published; alive while its loop runs.
                "readinessProbe": {"exec": {"command": ["test", "-s", "/pulumi-credentials/credentials.json"]}},
                "livenessProbe": {"exec": {"command": ["/bin/bash", "-c", "kill -0 1"]}, "periodSeconds": 60},
                "resources": {
                    "requests": {"cpu": "50m", "memory": "128Mi"},
                    "limits": {"cpu": "500m", "memory": "512Mi"},
                },
                "volumeMounts": [*mounts, {"name": "app-tmp", "mountPath": "/tmp"}],
            }
        ],
        "volumes": [*volumes, {"name": "app-tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
    }


spec = pulumi.Output.all(
    sidecar.init_containers,
    sidecar.volumes,
    sidecar.app_env,
    sidecar.app_volume_mounts,
    sidecar.pod_security_context,
)
deployment_spec: Any = {
    "replicas": 1,
    "selector": {"matchLabels": labels},
    "template": {"metadata": {"labels": labels}, "spec": spec.apply(pod_spec)},
}
deployment = k8s.apps.v1.Deployment(
    "stack-lister",
    metadata={"namespace": "agents", "labels": labels},
    spec=deployment_spec,
    opts=pulumi.ResourceOptions(providers=[provider], depends_on=[account]),
)
pulumi.export(
    "deployment", deployment.metadata.apply(lambda meta: meta["name"] if isinstance(meta, dict) else meta.name)
)
