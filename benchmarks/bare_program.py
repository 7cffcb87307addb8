"""The baseline: the same resource types as a stack registers, written inline with no config
model, validation or components. ``BARE_CLOUD`` (gke or eks) picks which stack it mirrors."""

import json
import os

import pulumi
import pulumi_kubernetes as k8s
import pulumi_pulumiservice as pulumiservice

cloud = os.environ.get("BARE_CLOUD", "gke")
if cloud == "gke":
    import pulumi_gcp.container as gke
    from pulumi_gcp import serviceaccount

    cluster = gke.Cluster(
        "cluster",
        name="keyless-dev",
        location="us-central1",
        remove_default_node_pool=True,
        initial_node_count=1,
        workload_identity_config={"workload_pool": "my-gcp-project.svc.id.goog"},
    )
    gke.NodePool(
        "nodes",
        cluster=cluster.name,
        location="us-central1",
        node_config={"workload_metadata_config": {"mode": "GKE_METADATA"}},
    )
    gsa = serviceaccount.Account("gsa", account_id="pulumi-runner")
    serviceaccount.IAMMember(
        "wi",
        service_account_id=gsa.name,
        role="roles/iam.workloadIdentityUser",
        member="serviceAccount:my-gcp-project.svc.id.goog[pulumi-runner/pulumi-runner]",
    )
    issuer_url = pulumi.Output.concat(
        "https://container.googleapis.com/v1/projects/my-gcp-project/locations/us-central1/clusters/", cluster.name
    )
    annotation = {"iam.gke.io/gcp-service-account": gsa.email}
    kubeconfig = cluster.endpoint
else:
    from pulumi_aws import ec2, eks, get_partition_output, iam

    # The same lookups as the stack: partition, and the default VPC's subnets.
    partition = get_partition_output().partition
    vpc = ec2.get_vpc_output(default=True)
    subnets = ec2.get_subnets_output(filters=vpc.id.apply(lambda vpc_id: [{"name": "vpc-id", "values": [vpc_id]}])).ids
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    cluster_role = iam.Role("cluster-role", assume_role_policy=trust)
    node_role = iam.Role("node-role", assume_role_policy=trust)
    for policy in ("AmazonEKSClusterPolicy",):
        iam.RolePolicyAttachment(policy, role=cluster_role.name, policy_arn=f"arn:aws:iam::aws:policy/{policy}")
    for policy in ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"):
        iam.RolePolicyAttachment(policy, role=node_role.name, policy_arn=f"arn:aws:iam::aws:policy/{policy}")
    eks_cluster = eks.Cluster("cluster", role_arn=cluster_role.arn, vpc_config={"subnet_ids": subnets})
    eks.NodeGroup(
        "nodes",
        cluster_name=eks_cluster.name,
        node_role_arn=node_role.arn,
        subnet_ids=subnets,
        scaling_config={"desired_size": 2, "min_size": 1, "max_size": 3},
    )
    issuer_url = eks_cluster.identities.apply(lambda ids: str(ids[0].oidcs[0].issuer))  # type: ignore[index]
    provider = iam.OpenIdConnectProvider("oidc", url=issuer_url, client_id_lists=["sts.amazonaws.com"])
    runner_role = iam.Role(
        "runner-role",
        assume_role_policy=pulumi.Output.json_dumps({"Statement": [{"Principal": {"Federated": provider.arn}}]}),
    )
    iam.RolePolicyAttachment(
        "runner-policy", role=runner_role.name, policy_arn="arn:aws:iam::aws:policy/ReadOnlyAccess"
    )
    annotation = {"eks.amazonaws.com/role-arn": runner_role.arn}
    kubeconfig = eks_cluster.endpoint

k8s_provider = k8s.Provider("k8s", kubeconfig=kubeconfig)
in_cluster = pulumi.ResourceOptions(provider=k8s_provider)
namespace = k8s.core.v1.Namespace("ns", metadata={"name": "pulumi-runner"}, opts=in_cluster)
account = k8s.core.v1.ServiceAccount(
    "sa", metadata={"name": "pulumi-runner", "namespace": "pulumi-runner", "annotations": annotation}, opts=in_cluster
)
issuer = pulumiservice.OidcIssuer(
    "issuer",
    organization="my-pulumi-org",
    name="keyless-dev",
    url=issuer_url,
    policies=[
        pulumiservice.AuthPolicyDefinitionArgs(
            decision=pulumiservice.AuthPolicyDecision.ALLOW,
            token_type=pulumiservice.AuthPolicyTokenType.ORGANIZATION,
            rules={"sub": "system:serviceaccount:pulumi-runner:pulumi-runner"},
        )
    ],
)
script = k8s.core.v1.ConfigMap(
    "script", metadata={"namespace": "pulumi-runner"}, data={"login.sh": "pulumi login"}, opts=in_cluster
)
k8s.networking.v1.NetworkPolicy(
    "policy", metadata={"namespace": "pulumi-runner"}, spec={"pod_selector": {}}, opts=in_cluster
)
k8s.batch.v1.Job(
    "login",
    metadata={"namespace": "pulumi-runner"},
    spec={
        "template": {
            "spec": {
                "restart_policy": "Never",
                "containers": [{"name": "login", "image": "pulumi/pulumi-base:3.272.0"}],
                "volumes": [{"name": "script", "config_map": {"name": script.metadata.name}}],
            }
        }
    },
    opts=pulumi.ResourceOptions(provider=k8s_provider, depends_on=[issuer, account]),
)
