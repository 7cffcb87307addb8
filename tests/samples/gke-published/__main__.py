"""Pulumi's GKE OIDC guide (docs: oidc-issuers/kubernetes-gke) as a Python program, the way the
guide and Pulumi's samples write it: a cluster without an explicit name, the issuer URL built with
``Output.concat`` from the cluster's auto-name and registered with the guide's trailing ``/``, an
organization-token policy, and the guide's login Job: the token echoed and put on argv, ``:latest``,
root, the script mounted ``0o700`` with ``subPath``. Every flaw is one ``keyless check`` names."""

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as kubernetes
import pulumi_pulumiservice as pulumiservice

org = pulumi.Config().require("org")
project = pulumi.Config("gcp").require("project")
location = "us-central1"

cluster = gcp.container.Cluster(
    "cluster",
    location=location,
    initial_node_count=1,
    workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(workload_pool=f"{project}.svc.id.goog"),
)
issuer_url = pulumi.Output.concat(
    "https://container.googleapis.com/v1/projects/", project, "/locations/", location, "/clusters/", cluster.name, "/"
)
pulumiservice.OidcIssuer(
    "gke",
    organization=org,
    name="gke",
    url=issuer_url,
    policies=[
        pulumiservice.AuthPolicyDefinitionArgs(
            decision=pulumiservice.AuthPolicyDecision.ALLOW,
            token_type=pulumiservice.AuthPolicyTokenType.ORGANIZATION,
            authorized_permissions=[pulumiservice.AuthPolicyPermissionLevel.ADMIN],
            rules={'"kubernetes.io".namespace': "default", '"kubernetes.io".serviceaccount.name': "default"},
        )
    ],
)

script = kubernetes.core.v1.ConfigMap(
    "script",
    data={
        "entrypoint.sh": f"""#!/bin/bash
OIDC_GKE_TOKEN=$(</var/run/secrets/pulumi/token)
echo "OIDC Token:"
echo $OIDC_GKE_TOKEN
pulumi login --oidc-token $OIDC_GKE_TOKEN --oidc-org {org}
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
                restart_policy="Never",
                containers=[
                    kubernetes.core.v1.ContainerArgs(
                        name="runner",
                        image="pulumi/pulumi:latest",
                        command=["/bin/entrypoint.sh"],
                        volume_mounts=[
                            kubernetes.core.v1.VolumeMountArgs(
                                name="pulumi-serviceaccounttoken", mount_path="/var/run/secrets/pulumi"
                            ),
                            kubernetes.core.v1.VolumeMountArgs(
                                name="script", mount_path="/bin/entrypoint.sh", read_only=True, sub_path="entrypoint.sh"
                            ),
                        ],
                    )
                ],
                volumes=[
                    kubernetes.core.v1.VolumeArgs(
                        name="pulumi-serviceaccounttoken",
                        projected=kubernetes.core.v1.ProjectedVolumeSourceArgs(
                            sources=[
                                kubernetes.core.v1.VolumeProjectionArgs(
                                    service_account_token=kubernetes.core.v1.ServiceAccountTokenProjectionArgs(
                                        audience=f"urn:pulumi:org:{org}", expiration_seconds=3600, path="token"
                                    )
                                )
                            ]
                        ),
                    ),
                    kubernetes.core.v1.VolumeArgs(
                        name="script",
                        config_map=kubernetes.core.v1.ConfigMapVolumeSourceArgs(
                            default_mode=0o700, name=script.metadata.name
                        ),
                    ),
                ],
            )
        ),
    ),
)
pulumi.export("jobName", job.metadata.name)
