"""The components as a package: the schema other languages see, the README's reference, the examples."""

import json
import re
from typing import Any

import pytest
import yaml

from keyless.config import reference as config_reference
from keyless.docs import between
from keyless.package.reference import END, START, render, type_name
from keyless.package.schema import package_schema, served_components
from keyless.preview.artifacts import preview_stack
from tests.conftest import REFERENCE_DATA, ROOT


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return package_schema()


def test_every_component_is_served_under_the_keyless_package(schema: dict[str, Any]) -> None:
    assert schema["name"] == "keyless"
    assert sorted(schema["resources"]) == sorted(f"keyless:index:{c.__name__}" for c in served_components())
    assert all(resource["isComponent"] for resource in schema["resources"].values())


def test_schema_types_match_the_python_annotations(schema: dict[str, Any]) -> None:
    runner = schema["resources"]["keyless:index:OidcLoginJob"]
    assert runner["inputProperties"]["tokenExpirationSeconds"]["type"] == "integer"
    assert set(runner["requiredInputs"]) == {"namespace", "serviceAccountName", "organization", "tokenType"}
    assert runner["properties"]["jobName"]["type"] == "string"
    trust = schema["resources"]["keyless:index:PulumiCloudTrust"]
    assert type_name(trust["inputProperties"]["workloads"]) == "list<WorkloadPolicy>"
    policy = schema["types"]["keyless:index:WorkloadPolicy"]
    assert type_name(policy["properties"]["authorizedPermissions"]) == "list<PermissionLevel>"
    assert type_name(policy["properties"]["tokenType"]) == "TokenType"
    token_types = [member["value"] for member in schema["types"]["keyless:index:TokenType"]["enum"]]
    assert token_types == ["organization", "team", "personal", "runner"]
    assert set(policy["required"]) == {"namespace", "serviceAccount", "tokenType"}
    irsa = schema["resources"]["keyless:index:IrsaRole"]
    assert type_name(irsa["inputProperties"]["serviceAccounts"]) == "list<ServiceAccountRef>"
    assert schema["resources"]["keyless:index:GkeCluster"]["properties"]["kubeconfig"]["type"] == "string"


def test_a_renamed_component_publishes_its_earlier_type_and_the_old_name_is_deprecated(schema: dict[str, Any]) -> None:
    """An SDK generated in another language moves a live stack's login Job to the new type (the
    schema's ``aliases``), and a program still naming the old type is told what to use instead."""
    resources = schema["resources"]
    assert resources["keyless:index:OidcLoginJob"]["aliases"] == [{"type": "keyless:index:OidcLoginRunner"}]
    assert "OidcLoginJob" in resources["keyless:index:OidcLoginRunner"]["deprecationMessage"]
    assert "deprecationMessage" not in resources["keyless:index:OidcLoginJob"]
    old, new = resources["keyless:index:OidcLoginRunner"], resources["keyless:index:OidcLoginJob"]
    assert (old["inputProperties"], old["requiredInputs"]) == (new["inputProperties"], new["requiredInputs"])
    assert {name: output["type"] for name, output in old["properties"].items()} == {
        name: output["type"] for name, output in new["properties"].items()
    }


def test_component_reference_documents_exactly_what_the_schema_serves(schema: dict[str, Any]) -> None:
    documented = between((ROOT / "docs" / "components.md").read_text(), START, END)
    rows = re.findall(r"^\| `(\w+)` \| `([^`]+)` \| (yes|no) \|", documented, re.M)
    assert rows, "the reference lists inputs and outputs"
    headings = re.findall(r"^#### (?:type |enum )?`(\w+)`", documented, re.M)
    served = [token.rsplit(":", 1)[-1] for token in [*schema["resources"], *schema.get("types", {})]]
    assert headings == served
    assert documented == render(schema), "docs/components.md is stale: python -m keyless.docs"


def test_configuration_reference_lists_every_key_the_config_accepts(schema: dict[str, Any]) -> None:
    documented = between((ROOT / "docs" / "configuration.md").read_text(), config_reference.START, config_reference.END)
    assert documented == config_reference.render(schema), "docs/configuration.md is stale: python -m keyless.docs"
    keys = re.findall(r"^\| `([^`]+)` \|", documented, re.M)
    for key in ("keyless:loginJob.image", "keyless:workloads[].runsLoginJob", "keyless:existing.lookup.location"):
        assert key in keys
    assert "`keyless:runner` → `keyless:loginJob`" in documented


PYTHON_EXAMPLES = sorted(p.parent.name for p in (ROOT / "examples").glob("python-*/__main__.py"))


def test_every_example_is_a_pulumi_project_with_a_readme() -> None:
    examples = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir())
    assert len(examples) >= 5
    for example in examples:
        project = yaml.safe_load((example / "Pulumi.yaml").read_text())
        assert project["name"].startswith("keyless-"), example.name
        assert (example / "README.md").is_file(), example.name
        if project["runtime"] == "yaml":
            continue
        assert project["runtime"]["name"] == "python", example.name
        assert "-e ../.." in (example / "requirements.txt").read_text().splitlines(), example.name


@pytest.mark.parametrize("example", PYTHON_EXAMPLES)
def test_python_examples_run_under_mocks_with_their_stack_file(example: str) -> None:
    """Each example runs as its own project, from its own Pulumi.example.yaml."""
    preview = preview_stack("example", ROOT / "examples" / example)
    run = preview.run
    assert run.of_type("pulumi:providers:kubernetes")
    assert all(r.provider for r in run.registrations if r.type.startswith("kubernetes:") and r.custom)
    expected = {
        "python-existing-cluster": "pulumiservice:index:OidcIssuer",
        "python-login-job": "kubernetes:batch/v1:Job",
        "python-irsa": "aws:iam/role:Role",
        "python-workload-identity": "gcp:serviceaccount/iAMMember:IAMMember",
        "python-keyless-sidecar": "kubernetes:apps/v1:Deployment",
    }[example]
    assert run.of_type(expected)


def test_irsa_example_trusts_exactly_its_service_account() -> None:
    run = preview_stack("example", ROOT / "examples" / "python-irsa").run
    trust = json.loads(run.one("aws:iam/role:Role").plain_inputs["assumeRolePolicy"])
    conditions = trust["Statement"][0]["Condition"]["StringEquals"]
    host = "oidc.eks.eu-west-1.amazonaws.com/id/0F1E2D3C4B5A69788796A5B4C3D2E1F0"
    assert conditions == {f"{host}:aud": "sts.amazonaws.com", f"{host}:sub": "system:serviceaccount:apps:reporter"}
    annotations = run.one("kubernetes:core/v1:ServiceAccount").plain_inputs["metadata"]["annotations"]
    assert annotations["eks.amazonaws.com/role-arn"] == run.one("aws:iam/role:Role").state["arn"]


def test_workload_identity_example_binds_exactly_its_service_account() -> None:
    run = preview_stack("example", ROOT / "examples" / "python-workload-identity").run
    binding = run.one("gcp:serviceaccount/iAMMember:IAMMember").plain_inputs
    assert binding["member"] == "serviceAccount:my-gcp-project.svc.id.goog[apps/reporter]"
    assert binding["role"] == "roles/iam.workloadIdentityUser"


def test_yaml_example_uses_only_what_the_schema_serves(schema: dict[str, Any]) -> None:
    program = yaml.safe_load((ROOT / "examples" / "yaml-package" / "Pulumi.yaml").read_text())
    for name, resource in program["resources"].items():
        token = resource["type"]
        if not token.startswith("keyless:"):
            continue
        definition = schema["resources"][token]
        properties = resource.get("properties", {})
        assert set(properties) <= set(definition["inputProperties"]), name
        assert set(definition.get("requiredInputs", [])) <= set(properties), name
        providers = resource.get("options", {}).get("providers")
        if providers is not None:  # Pulumi YAML takes a map of package name to provider
            assert isinstance(providers, dict) and set(providers) == {"kubernetes"}, name
    policy_fields = schema["types"]["keyless:index:WorkloadPolicy"]["properties"]
    for workload in program["resources"]["trust"]["properties"]["workloads"]:
        assert set(workload) <= set(policy_fields)
    for value in program["outputs"].values():
        resource, attribute = value.strip("${}").split(".")
        assert attribute in schema["resources"][program["resources"][resource]["type"]]["properties"]


def test_plugin_manifest_runs_the_python_host() -> None:
    manifest = yaml.safe_load((ROOT / "provider" / "PulumiPlugin.yaml").read_text())
    assert manifest == {"runtime": "python"}
    host = (ROOT / "provider" / "__main__.py").read_text()
    assert "main(provider(), sys.argv[1:])" in host


def test_package_version_is_declared_once_in_agreement() -> None:
    import tomllib

    from keyless.components import __version__

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == __version__
    assert f"## {__version__} " in (ROOT / "CHANGELOG.md").read_text()


def test_the_plugin_host_boots_and_serves_the_schema() -> None:
    """Start provider/__main__.py as the Pulumi engine would and ask it for its schema over gRPC."""
    import json
    import subprocess
    import sys

    import grpc
    from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

    host = subprocess.Popen(
        [sys.executable, str(ROOT / "provider" / "__main__.py"), str(ROOT / "provider")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert host.stdout is not None
        port = int(host.stdout.readline().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=20)
            response = provider_pb2_grpc.ResourceProviderStub(channel).GetSchema(
                provider_pb2.GetSchemaRequest(version=0), timeout=20
            )
        served = json.loads(response.schema)
        assert served["name"] == "keyless" and served["version"] == package_schema()["version"]
        assert served["resources"] == package_schema()["resources"]
        assert metaschema_errors(served) == [], "the schema the plugin serves is one Pulumi accepts"
    finally:
        host.kill()
        host.wait(timeout=10)


REFERENCE_METASCHEMA = REFERENCE_DATA / "probes" / "pulumi-package-metaschema.json"


def metaschema_errors(schema: dict[str, Any]) -> list[str]:
    """Where ``schema`` breaks Pulumi's package metaschema (pkg/codegen/schema/pulumi.json)."""
    import jsonschema

    # The metaschema's patterns are ECMA regular expressions; Python spells a named group (?P<name>.
    metaschema = json.loads(REFERENCE_METASCHEMA.read_text().replace("(?<", "(?P<"))
    validator = jsonschema.Draft202012Validator(metaschema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(schema)]


def test_the_package_schema_validates_against_pulumis_metaschema() -> None:
    assert metaschema_errors(package_schema()) == []
    enum = package_schema()["types"]["keyless:index:TokenType"]["enum"]
    assert {"name": "ORGANIZATION", "value": "organization"} in enum
