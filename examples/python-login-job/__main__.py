"""Only the login Job, against an issuer registered elsewhere.

Useful as a smoke test after changing issuer policies: the Job proves that the service account
can still exchange its token.
"""

import pulumi
import pulumi_kubernetes as k8s

from keyless.components import OidcLoginJob, TokenType

config = pulumi.Config()
cluster = k8s.Provider("cluster", kubeconfig=config.require_secret("kubeconfig"))

login = OidcLoginJob(
    "login-check",
    {
        "namespace": config.get("namespace") or "ci",
        "service_account_name": config.get("serviceAccount") or "ci-runner",
        "organization": config.require("organization"),
        "token_type": TokenType.TEAM,
        "team_name": config.require("team"),
        "exchanged_token_lifetime": "15m",
    },
    opts=pulumi.ResourceOptions(providers=[cluster]),
)
pulumi.export("jobName", login.job_name)
