"""Written like the published keyless samples, with their flaws, for `keyless check` to find:
the token echoed and put on argv, `:latest`, root, IRSA trusting only `sub`, an issuer policy
that pins no subject, and a stored Pulumi token."""

import json
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes
import pulumi_pulumiservice as pulumiservice
from pulumi_aws import iam

org = pulumi.Config().require("org")
issuer = "https://oidc.eks.us-west-2.amazonaws.com/id/0F1E2D3C4B5A69788796A5B4C3D2E1F0"

script = kubernetes.core.v1.ConfigMap(
    "script",
    data={
        "entrypoint.sh": f"""#!/bin/bash
OIDC_TOKEN=$(</var/run/secrets/pulumi/token)
echo "OIDC Token:"
echo $OIDC_TOKEN
pulumi login --oidc-token $OIDC_TOKEN --oidc-org {org}
pulumi whoami
"""
    },
)
job_spec: Any = {
    "backoffLimit": 0,
    "template": {
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "runner",
                    "image": "pulumi/pulumi:latest",
                    "command": ["/bin/entrypoint.sh"],
                    "volumeMounts": [
                        {"name": "pulumi-serviceaccounttoken", "mountPath": "/var/run/secrets/pulumi"},
                        {"name": "script", "mountPath": "/bin/entrypoint.sh", "subPath": "entrypoint.sh"},
                    ],
                }
            ],
            "volumes": [
                {
                    "name": "pulumi-serviceaccounttoken",
                    "projected": {
                        "sources": [
                            {
                                "serviceAccountToken": {
                                    "audience": f"urn:pulumi:org:{org}",
                                    "expirationSeconds": 3600,
                                    "path": "token",
                                }
                            }
                        ]
                    },
                },
                {"name": "script", "configMap": {"name": script.metadata.name, "defaultMode": 0o700}},
            ],
        }
    },
}
kubernetes.batch.v1.Job("runner", spec=job_spec)
kubernetes.core.v1.Secret(
    "pulumi-token", string_data={"PULUMI_ACCESS_TOKEN": "pul-0123456789abcdef0123456789abcdef01234567"}
)
iam.Role(
    "irsa",
    assume_role_policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{issuer[8:]}"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {f"{issuer[8:]}:sub": "system:serviceaccount:default:runner"}},
                }
            ],
        }
    ),
)
pulumiservice.OidcIssuer(
    "eks",
    organization=org,
    name="eks",
    url=issuer,
    policies=[
        pulumiservice.AuthPolicyDefinitionArgs(
            decision=pulumiservice.AuthPolicyDecision.ALLOW,
            token_type=pulumiservice.AuthPolicyTokenType.PERSONAL,
            user_login="alice",
            rules={"aud": f"urn:pulumi:org:{org}", "kubernetes.io.namespace": "default"},
        )
    ],
)
