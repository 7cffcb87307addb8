"""Another Python stack reusing two components for a cluster it already has.

Pulumi Cloud trusts the cluster's tokens for one service account, which this stack creates;
no cluster, cloud identity or login Job is involved.
"""

import pulumi
import pulumi_kubernetes as k8s

from keyless.components import PulumiCloudTrust, TokenType, WorkloadServiceAccount

config = pulumi.Config()
organization = config.require("organization")
issuer_url = config.require("issuerUrl")
cluster = k8s.Provider("cluster", kubeconfig=config.require_secret("kubeconfig"))

agent = WorkloadServiceAccount(
    "deployment-agent",
    {"namespace": "pulumi-agents", "name": "deployment-agent"},
    opts=pulumi.ResourceOptions(providers=[cluster]),
)
trust = PulumiCloudTrust(
    "cluster-issuer",
    {
        "organization": organization,
        "issuer_url": issuer_url,
        "issuer_name": f"{pulumi.get_stack()}-cluster",
        "workloads": [
            {
                "namespace": "pulumi-agents",
                "service_account": "deployment-agent",
                "token_type": TokenType.RUNNER,
                "runner_id": config.require("runnerId"),
            }
        ],
    },
)
pulumi.export("audience", trust.audience)
pulumi.export("serviceAccount", agent.name)
