"""The baseline: the same resource types as a stack registers, written inline with no config
model, validation or components. ``BARE_CLOUD`` (gke or eks) picks which stack it mirrors;
``BARE_WORKLOADS`` (gke only; a JSON list of namespace/serviceAccount pairs) adds, per workload,
what the dev stack registers for one (benchmarks/scale.py)."""

import json
import os

import pulumi
import pulumi_kubernetes as k8s
import pulumi_pulumiservice as pulumiservice

cloud = os.environ.get("BARE_CLOUD", "gke")
workloads = json.loads(os.environ.get("BARE_WORKLOADS", "[]"))
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
    from pulumi_gcp import projects

    emails = {}
    for index, (ns, ksa) in enumerate(workloads):
        # The same resources as the stack, components included (the SDK registers those too).
        group = pulumi.ComponentResource("keyless:index:GcpWorkloadIdentity", f"{ns}.{ksa}")
        inside = pulumi.ResourceOptions(parent=group)
        workload_gsa = serviceaccount.Account(f"gsa-{index}", account_id=f"w{index}-{ksa}"[:30], opts=inside)
        serviceaccount.IAMMember(
            f"wi-{index}",
            service_account_id=workload_gsa.name,
            role="roles/iam.workloadIdentityUser",
            member=f"serviceAccount:my-gcp-project.svc.id.goog[{ns}/{ksa}]",
            opts=inside,
        )
        projects.IAMMember(
            f"role-{index}",
            project="my-gcp-project",
            role="roles/storage.objectViewer",
            member=workload_gsa.email.apply(lambda email: f"serviceAccount:{email}"),
            opts=inside,
        )
        emails[(ns, ksa)] = workload_gsa.email
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
for ns in dict.fromkeys(ns for ns, _ in workloads):
    group = pulumi.ComponentResource("keyless:index:RestrictedNamespace", ns, opts=in_cluster)
    k8s.core.v1.Namespace(f"ns-{ns}", metadata={"name": ns}, opts=pulumi.ResourceOptions(parent=group))
for index, (ns, ksa) in enumerate(workloads):
    group = pulumi.ComponentResource("keyless:index:WorkloadServiceAccount", f"{ns}.{ksa}", opts=in_cluster)
    k8s.core.v1.ServiceAccount(
        f"sa-{index}",
        metadata={"name": ksa, "namespace": ns, "annotations": {"iam.gke.io/gcp-service-account": emails[(ns, ksa)]}},
        opts=pulumi.ResourceOptions(parent=group),
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
            rules={"sub": f"system:serviceaccount:{ns}:{ksa}"},
        )
        for ns, ksa in [("pulumi-runner", "pulumi-runner"), *workloads]
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
