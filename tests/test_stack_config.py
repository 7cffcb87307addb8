import json
from typing import Any

import pytest

from keyless.cli import main
from keyless.config import ConfigError, load_stack_config
from tests.conftest import ROOT, load_stack_file, run_stack, stack_names


def _with(config: dict[str, str], key: str, value: Any) -> dict[str, str]:
    updated = dict(config)
    if value is None:
        updated.pop(key, None)
    else:
        updated[key] = value if isinstance(value, str) else json.dumps(value)
    return updated


def _workload(config: dict[str, str], **changes: Any) -> dict[str, str]:
    workload = {**json.loads(config["keyless:workloads"])[0], **changes}
    workload = {key: value for key, value in workload.items() if value is not None}
    return _with(config, "keyless:workloads", [workload])


def _runner(config: dict[str, str], **changes: Any) -> dict[str, str]:
    return _with(config, "keyless:loginJob", {**json.loads(config["keyless:loginJob"]), **changes})


@pytest.mark.parametrize("stack", stack_names())
def test_every_committed_stack_file_is_valid(stack: str) -> None:
    values, secret_keys = load_stack_file(stack)
    config = load_stack_config(values, stack=stack, secret_keys=secret_keys)
    assert config.workloads


BAD_CONFIGS = [
    (
        lambda c: _with(c, "keyless:cloud", "openshift"),
        "keyless:cloud: 'openshift' is not accepted; expected one of: gke, eks, aks, existing",
    ),
    (lambda c: _with(c, "keyless:organization", ""), "keyless:organization: '' is empty; expected a non-empty string"),
    (lambda c: _with(c, "keyless:organization", None), "keyless:organization: missing; it is required"),
    (
        lambda c: _workload(c, tokenType="org"),
        "keyless:workloads[0].tokenType: 'org' is not accepted; expected one of: organization, team, personal, runner",
    ),
    (
        lambda c: _workload(c, tokenType="team", roleId=None),
        "keyless:workloads[0]: tokenType 'team' needs teamName; got none",
    ),
    (
        lambda c: _workload(c, tokenType="personal", roleId=None),
        "keyless:workloads[0]: tokenType 'personal' needs userLogin; got none",
    ),
    (
        lambda c: _workload(c, roleId=None),
        "keyless:workloads[0]: tokenType 'organization' needs exactly one of authorizedPermissions or roleId; got none",
    ),
    (
        lambda c: _workload(c, tokenType="runner", runnerId="r-1", roleId=None),
        "keyless:workloads[0].runsLoginJob: True is not accepted with tokenType 'runner'",
    ),
    (
        lambda c: _workload(c, namespace="Pulumi_Runner"),
        "keyless:workloads[0].namespace: 'Pulumi_Runner' is not a valid Kubernetes name; expected a DNS-1123 label",
    ),
    (
        lambda c: _workload(c, serviceAccount="-runner"),
        "keyless:workloads[0].serviceAccount: '-runner' is not a valid Kubernetes name",
    ),
    (
        lambda c: _runner(c, tokenExpirationSeconds=599),
        "keyless:loginJob.tokenExpirationSeconds: 599 is out of range; expected an integer from 600 to 86400",
    ),
    (
        lambda c: _runner(c, image="pulumi/pulumi-base:latest"),
        "keyless:loginJob.image: 'pulumi/pulumi-base:latest' is not pinned; expected a version tag other than 'latest'",
    ),
    (lambda c: _runner(c, image="pulumi/pulumi-base"), "keyless:loginJob.image: 'pulumi/pulumi-base' is not pinned"),
    (
        lambda c: _runner(c, exchangedTokenLifetime="3h"),
        "keyless:loginJob.exchangedTokenLifetime: '3h' (10800s) exceeds keyless:issuer.maxExpirationSeconds (7200)",
    ),
    (
        lambda c: _runner(c, imagePullPolicy="Always"),
        "keyless:loginJob.imagePullPolicy: unknown key; expected one of: image,",
    ),
    (lambda c: _with(c, "keyless:clusterName", "x"), "keyless:clusterName: unknown key; expected one of: cloud,"),
    (lambda c: _with(c, "gcp:project", None), "keyless:gke.project: missing; set it, or gcp:project"),
    (
        lambda c: _with(c, "keyless:gke", {**json.loads(c["keyless:gke"]), "releaseChannel": "BETA"}),
        "keyless:gke.releaseChannel: 'BETA' is not accepted; expected one of: RAPID, REGULAR, STABLE, EXTENDED",
    ),
    (
        lambda c: _with(c, "keyless:workloads", [json.loads(c["keyless:workloads"])[0]] * 2),
        "keyless:workloads[1]: uses the service account pulumi-runner/pulumi-runner of keyless:workloads[0]",
    ),
    (
        lambda c: _workload(c, awsManagedPolicyArns=["arn:aws:iam::aws:policy/ReadOnlyAccess"]),
        "keyless:workloads[0].awsManagedPolicyArns: applies to identityMode irsa, podIdentity only; "
        "this workload's is 'gcpServiceAccount'",
    ),
    (lambda c: _with(c, "keyless:workloads", "{not json"), "keyless:workloads: is not valid JSON"),
    (
        lambda c: _runner(c, canarySchedule="61 * * * *"),
        "keyless:loginJob.canarySchedule: '61 * * * *' is not a cron schedule: its minute field has '61', "
        "outside 0 to 59",
    ),
    (
        lambda c: _with(c, "keyless:issuer", {"maxExpirationSeconds": 86400}),
        "keyless:issuer.maxExpirationSeconds: 86400 is out of range; expected an integer from 300 to 7200",
    ),
    (
        lambda c: _with(c, "keyless:workloads", []),
        "keyless:workloads: missing, and the stack declares no escStores or workflowRunners either; expected at "
        "least one entry",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), BAD_CONFIGS)
def test_bad_config_is_named_with_its_value_and_what_is_accepted(
    dev_config: dict[str, str], mutate: Any, message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_stack_config(mutate(dev_config))
    assert message in str(error.value)


@pytest.mark.parametrize(("mutate", "message"), BAD_CONFIGS[:6])
def test_the_program_registers_nothing_on_bad_config(dev_config: dict[str, str], mutate: Any, message: str) -> None:
    run = run_stack(mutate(dev_config), raise_errors=False)
    assert isinstance(run.error, ConfigError)
    assert message in str(run.error)
    assert run.registrations == []


def test_every_problem_is_reported_at_once(dev_config: dict[str, str]) -> None:
    config = _runner(_workload(_with(dev_config, "keyless:organization", ""), namespace="NS"), image="x:latest")
    with pytest.raises(ConfigError) as error:
        load_stack_config(config)
    assert len(error.value.problems) == 3
    assert str(error.value).startswith("Invalid stack configuration (3 problems); nothing was deployed:")


def test_defaults_fill_what_the_stack_leaves_out(dev_config: dict[str, str]) -> None:
    config = load_stack_config(_with(_with(dev_config, "keyless:loginJob", None), "keyless:issuer", None), stack="qa")
    assert config.login_job["token_expiration_seconds"] == 3600
    assert config.login_job["image"].startswith("pulumi/pulumi-base:3.")
    assert config.issuer.name == "keyless-qa"
    assert config.issuer.pin_audience is True
    assert config.pod_security_level == "restricted"


def test_unquoted_version_gets_a_hint_to_quote_it() -> None:
    values, _ = load_stack_file("eks-dev")
    eks = {**json.loads(values["keyless:eks"]), "kubernetesVersion": 1.33}
    with pytest.raises(ConfigError) as error:
        load_stack_config(_with(values, "keyless:eks", eks))
    assert "keyless:eks.kubernetesVersion: 1.33 is not text; expected a string (in YAML, quote values" in str(
        error.value
    )


def test_eks_needs_the_region(dev_config: dict[str, str]) -> None:
    values, _ = load_stack_file("eks-dev")
    with pytest.raises(ConfigError, match=r"aws:region: missing"):
        load_stack_config(_with(values, "aws:region", None))


def test_existing_cluster_kubeconfig_must_be_a_secret() -> None:
    values = {
        "keyless:cloud": "existing",
        "keyless:organization": "acme",
        "keyless:existing": json.dumps({"identityCloud": "none", "issuerUrl": "https://issuer.example.com"}),
        "keyless:kubeconfig": "apiVersion: v1",
        "keyless:workloads": json.dumps(
            [{"namespace": "ci", "serviceAccount": "r", "tokenType": "team", "teamName": "t"}]
        ),
    }
    with pytest.raises(ConfigError) as error:
        load_stack_config(values)
    assert "keyless:kubeconfig: is stored in plain text; expected a secret" in str(error.value)
    assert "apiVersion" not in str(error.value)
    assert load_stack_config(values, secret_keys=["keyless:kubeconfig"]).cloud == "existing"


def test_a_secret_value_is_never_echoed_in_an_error(dev_config: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as error:
        load_stack_config(
            _with(dev_config, "keyless:podSecurityLevel", "hunter2-secret"), secret_keys=["keyless:podSecurityLevel"]
        )
    assert "keyless:podSecurityLevel: '[secret]' is not accepted" in str(error.value)
    assert "hunter2" not in str(error.value)


def test_existing_cluster_needs_an_issuer_or_a_lookup() -> None:
    values = {
        "keyless:cloud": "existing",
        "keyless:organization": "acme",
        "keyless:existing": json.dumps({"identityCloud": "eks"}),
        "keyless:workloads": json.dumps(
            [{"namespace": "ci", "serviceAccount": "r", "tokenType": "team", "teamName": "t"}]
        ),
    }
    with pytest.raises(ConfigError) as error:
        load_stack_config(values)
    assert "keyless:existing.issuerUrl: missing" in str(error.value)
    assert "keyless:kubeconfig: missing" in str(error.value)


def _eks(**changes: Any) -> dict[str, str]:
    values, _ = load_stack_file("eks-dev")
    return _with(values, "keyless:eks", {**json.loads(values["keyless:eks"]), **changes})


def _existing(**changes: Any) -> dict[str, str]:
    values, _ = load_stack_file("existing-dev")
    return _with(values, "keyless:existing", {**json.loads(values["keyless:existing"]), **changes})


SHAPE_KNOWN = [
    (
        lambda c: _with(c, "keyless:organization", "my org"),
        "keyless:organization: 'my org' is not a Pulumi organization name",
    ),
    (lambda c: _with(c, "gcp:project", "My Project"), "gcp:project: 'My Project' is not a Google Cloud project id"),
    (
        lambda c: _with(c, "keyless:gke", {**json.loads(c["keyless:gke"]), "location": "us central"}),
        "keyless:gke.location: 'us central' is not a Google Cloud region or zone",
    ),
    (
        lambda c: _with(c, "keyless:gke", {**json.loads(c["keyless:gke"]), "machineType": "E2 Standard"}),
        "keyless:gke.machineType: 'E2 Standard' is not a Compute Engine machine type",
    ),
    (
        lambda c: _with(c, "keyless:gke", {**json.loads(c["keyless:gke"]), "clusterName": "Keyless_Dev"}),
        "keyless:gke.clusterName: 'Keyless_Dev' is not a GKE cluster name",
    ),
    (
        lambda c: _workload(c, tokenType="team", roleId=None, teamName="platform team"),
        "keyless:workloads[0].teamName: 'platform team' holds white space",
    ),
    (
        lambda c: _eks(subnetIds=["vpc-0123456789abcdef0"]),
        "keyless:eks.subnetIds[0]: 'vpc-0123456789abcdef0' is not a subnet id",
    ),
    (lambda c: _with(_eks(), "aws:region", "Oregon"), "aws:region: 'Oregon' is not an AWS region"),
    (
        lambda c: _eks(oidcProviderArn="arn:aws:iam::123:role/x"),
        "keyless:eks.oidcProviderArn: 'arn:aws:iam::123:role/x' is not an IAM OIDC provider ARN",
    ),
    (
        lambda c: _existing(issuerUrl="https://oidc.example.com"),
        "keyless:existing.issuerUrl: and keyless:existing.lookup.clusterName are both set",
    ),
    (
        lambda c: _existing(lookup={"clusterName": "platform prod"}),
        "keyless:existing.lookup.clusterName: 'platform prod' is not an EKS cluster name",
    ),
    (
        lambda c: _existing(issuerUrl="https://oidc.example.com/?x=1", lookup=None),
        "keyless:existing.issuerUrl: 'https://oidc.example.com/?x=1' is not an OIDC issuer URL",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), SHAPE_KNOWN)
def test_a_value_the_cloud_would_refuse_is_refused_at_preview(
    dev_config: dict[str, str], mutate: Any, message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_stack_config(mutate(dev_config), secret_keys=["keyless:kubeconfig"])
    assert message in str(error.value)


# --- what a newcomer meets -------------------------------------------------------------------------


def test_a_stack_of_runners_or_stores_only_is_a_stack(dev_config: dict[str, str]) -> None:
    """Only an Operator stack needs a workload; an issuer needs someone to trust."""
    values, _ = load_stack_file("platform")
    runners_only = {k: v for k, v in values.items() if k not in ("keyless:workloads", "keyless:operatorStacks")}
    config = load_stack_config(runners_only, stack="platform")
    assert config.workloads == () and [r.reference for r in config.entries["workflowRunners"]] == [
        "pulumi-runners/deploy"
    ]
    run = run_stack(runners_only)
    assert [p["tokenType"] for p in run.one("pulumiservice:index:OidcIssuer").plain_inputs["policies"]] == ["runner"]
    assert "loginJobName" not in run.outputs
    values, _ = load_stack_file("existing-dev")
    stores_only = {k: v for k, v in values.items() if k != "keyless:workloads"}
    assert [s.reference for s in load_stack_config(stores_only).entries["escStores"]] == ["payments/payments"]


def test_a_stack_whose_login_no_job_proves_says_so(dev_config: dict[str, str]) -> None:
    workloads = json.loads(dev_config["keyless:workloads"])
    workloads[0].pop("runsLoginJob")
    config = load_stack_config({**dev_config, "keyless:workloads": json.dumps(workloads)})
    (warning,) = config.warnings
    assert "no keyless:workloads entry has runsLoginJob: true, so no login Job proves the exchange" in warning
    assert load_stack_config(dev_config).warnings == ()


def test_an_offline_preview_of_an_existing_cluster_needs_no_pulumi_cli(tmp_path: Any) -> None:
    """The error names what works without the CLI, and a secure placeholder in the stack file does."""
    values, _ = load_stack_file("existing-dev")
    existing = {"identityCloud": "none", "issuerUrl": "https://oidc.example.com/cluster"}
    config = {k: v for k, v in values.items() if k not in ("keyless:escStores",)}
    config = {**config, "keyless:existing": json.dumps(existing)}
    workloads = [{**w, "awsManagedPolicyArns": None} for w in json.loads(config["keyless:workloads"])]
    config["keyless:workloads"] = json.dumps([{k: v for k, v in w.items() if v is not None} for w in workloads])
    with pytest.raises(ConfigError) as error:
        load_stack_config(config)
    assert "any secure value in the stack file (`keyless:kubeconfig: {secure: placeholder}`)" in str(error.value)
    root = tmp_path
    (root / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text() + f"main: {ROOT}\n")
    document = {"config": {k: json.loads(v) if v[:1] in "[{" else v for k, v in config.items()}}
    document["config"]["keyless:kubeconfig"] = {"secure": "placeholder"}
    (root / "Pulumi.offline.yaml").write_text(json.dumps(document))
    assert main(["preview", "--root", str(root), "--stack", "offline", "--quiet", "--out", str(root / "out")]) == 0
