"""Workload Identity only: one service account of a GKE cluster you already run acts as a
Google service account that may read the project's storage.

The cluster must have Workload Identity enabled (its pool is `<project>.svc.id.goog`), and its
node pools must use the GKE metadata server. No Pulumi Cloud resources are involved.
"""

import pulumi
import pulumi_kubernetes as k8s

from keyless.components import GcpWorkloadIdentity, WorkloadServiceAccount

project = pulumi.Config("gcp").require("project")
config = pulumi.Config()
cluster = k8s.Provider("cluster", kubeconfig=config.require_secret("kubeconfig"))

identity = GcpWorkloadIdentity(
    "reporter",
    {
        "project": project,
        "workload_pool": f"{project}.svc.id.goog",
        "namespace": "apps",
        "service_account": "reporter",
        "project_roles": ["roles/storage.objectViewer"],
    },
)
account = WorkloadServiceAccount(
    "reporter",
    {"namespace": "apps", "name": "reporter", "gcp_service_account_email": identity.email},
    opts=pulumi.ResourceOptions(providers=[cluster]),
)
pulumi.export("googleServiceAccount", identity.email)
pulumi.export("member", identity.member)
pulumi.export("serviceAccount", account.name)
