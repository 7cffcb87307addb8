"""Facts about a Kubernetes cluster derived from its identity: issuer URLs and kubeconfigs.

Plain functions with no provider SDK imported, shared by the cluster components and the
existing-cluster lookup.
"""

import json
from collections.abc import Sequence


def gke_issuer_url(project: str, location: str, cluster_name: str) -> str:
    """The ``iss`` claim of the cluster's service-account tokens.

    Built from its parts, because the cluster's ``self_link`` says ``zones/`` for a zonal
    cluster while its tokens always say ``locations/``.
    """
    return f"https://container.googleapis.com/v1/projects/{project}/locations/{location}/clusters/{cluster_name}"


def workload_pool(project: str) -> str:
    return f"{project}.svc.id.goog"


def gke_kubeconfig(context_name: str, endpoint: str, ca_certificate: str) -> str:
    """A kubeconfig authenticating through ``gke-gcloud-auth-plugin`` (no credential is embedded)."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": context_name,
                    "cluster": {"server": f"https://{endpoint}", "certificate-authority-data": ca_certificate},
                }
            ],
            "contexts": [{"name": context_name, "context": {"cluster": context_name, "user": context_name}}],
            "current-context": context_name,
            "users": [
                {
                    "name": context_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "gke-gcloud-auth-plugin",
                            "provideClusterInfo": True,
                            "installHint": "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin",
                        }
                    },
                }
            ],
        },
        indent=2,
        sort_keys=True,
    )


def eks_kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str | None = None) -> str:
    """A kubeconfig authenticating through ``aws eks get-token`` (no credential is embedded)."""
    get_token = ["eks", "get-token", "--cluster-name", cluster_name, "--output", "json"]
    if region:
        get_token += ["--region", region]
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
            ],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": get_token,
                        }
                    },
                }
            ],
        },
        indent=2,
        sort_keys=True,
    )


def eks_issuer_from_identities(identities: Sequence[object]) -> str:
    """The cluster's own issuer (``oidc.eks.<region>.amazonaws.com``), never a dual-stack rewrite."""
    return identities[0].oidcs[0].issuer  # type: ignore[attr-defined]
