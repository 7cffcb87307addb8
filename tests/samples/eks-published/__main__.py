"""Pulumi's EKS OIDC guide (docs: oidc-issuers/kubernetes-eks) as a Python program, the way the
guide and Pulumi's samples write it: a cluster without an explicit name, the guide's IRSA trust
policy (``sub`` only, no ``aud``), the annotated service account, the issuer with a personal-token
policy and no maximum lifetime, and the guide's login Job, which exchanges the IRSA token: echoed,
on argv, ``:latest``, root, the script mounted ``0o700`` with ``subPath``."""

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes
import pulumi_pulumiservice as pulumiservice

config = pulumi.Config()
org, user_login = config.require("org"), config.require("userLogin")

role = aws.iam.Role("cluster-role", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": []}))
cluster = aws.eks.Cluster(
    "cluster", role_arn=role.arn, vpc_config=aws.eks.ClusterVpcConfigArgs(subnet_ids=["subnet-1"])
)
issuer = cluster.identities[0].oidcs[0].issuer
provider = aws.iam.OpenIdConnectProvider("oidc", url=issuer, client_id_lists=["sts.amazonaws.com"])


def trust(values: list[str]) -> str:
    arn, url = values
    host = url.removeprefix("https://")
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {f"{host}:sub": "system:serviceaccount:default:pulumi-service-account"}
                    },
                }
            ],
        }
    )


irsa = aws.iam.Role("pulumi-irsa", assume_role_policy=pulumi.Output.all(provider.arn, issuer).apply(trust))
kubernetes.core.v1.ServiceAccount(
    "pulumi-service-account",
    metadata=kubernetes.meta.v1.ObjectMetaArgs(
        name="pulumi-service-account", namespace="default", annotations={"eks.amazonaws.com/role-arn": irsa.arn}
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
            user_login=user_login,
            rules={
                '"kubernetes.io".namespace': "default",
                '"kubernetes.io".serviceaccount.name': "pulumi-service-account",
            },
        )
    ],
)
script = kubernetes.core.v1.ConfigMap(
    "script",
    data={
        "entrypoint.sh": f"""#!/bin/bash
# This is the location of the EKS id token
EKS_ID_TOKEN=$(cat /var/run/secrets/eks.amazonaws.com/serviceaccount/token)

echo "OIDC Token:"
echo $EKS_ID_TOKEN
pulumi login --oidc-token $EKS_ID_TOKEN --oidc-org {org} --oidc-user {user_login}
pulumi whoami
"""
    },
)
job = kubernetes.batch.v1.Job(
    "runner",
    spec=kubernetes.batch.v1.JobSpecArgs(
        backoff_limit=0,
        template=kubernetes.core.v1.PodTemplateSpecArgs(
            spec=kubernetes.core.v1.PodSpecArgs(
                service_account_name="pulumi-service-account",
                restart_policy="Never",
                containers=[
                    kubernetes.core.v1.ContainerArgs(
                        name="runner",
                        image="pulumi/pulumi:latest",
                        command=["/bin/entrypoint.sh"],
                        volume_mounts=[
                            kubernetes.core.v1.VolumeMountArgs(
                                name="script", mount_path="/bin/entrypoint.sh", read_only=True, sub_path="entrypoint.sh"
                            )
                        ],
                    )
                ],
                volumes=[
                    kubernetes.core.v1.VolumeArgs(
                        name="script",
                        config_map=kubernetes.core.v1.ConfigMapVolumeSourceArgs(
                            default_mode=0o700, name=script.metadata.name
                        ),
                    )
                ],
            )
        ),
    ),
)
pulumi.export("jobName", job.metadata.name)
