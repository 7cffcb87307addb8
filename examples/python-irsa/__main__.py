"""IRSA only: one service account of an EKS cluster you already run assumes an IAM role.

The cluster's IAM OIDC provider is created here for its issuer (pass `oidcProviderArn` to reuse
one); the role trusts exactly `system:serviceaccount:apps:reporter` with audience
`sts.amazonaws.com`. No Pulumi Cloud resources are involved.
"""

import pulumi
import pulumi_kubernetes as k8s

from keyless.components import EksOidcProvider, IrsaRole, WorkloadServiceAccount

config = pulumi.Config()
issuer_url = config.require("issuerUrl")
cluster = k8s.Provider("cluster", kubeconfig=config.require_secret("kubeconfig"))

provider_arn = config.get("oidcProviderArn") or EksOidcProvider("oidc", {"issuer_url": issuer_url}).arn
role = IrsaRole(
    "reporter",
    {
        "oidc_provider_arn": provider_arn,
        "issuer_url": issuer_url,
        "service_accounts": [{"namespace": "apps", "name": "reporter"}],
        "managed_policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
    },
)
account = WorkloadServiceAccount(
    "reporter",
    {"namespace": "apps", "name": "reporter", "aws_role_arn": role.arn},
    opts=pulumi.ResourceOptions(providers=[cluster]),
)
pulumi.export("roleArn", role.arn)
pulumi.export("trustPolicy", role.trust_policy)
pulumi.export("serviceAccount", account.name)
