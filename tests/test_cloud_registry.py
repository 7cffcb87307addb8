"""The cloud registry: GKE, EKS and AKS are one module each (``keyless/clouds/``), and the stack
config, the program and the doctor ask it instead of naming a cloud; an existing cluster asks its
identity cloud's module for what is particular to it."""

from __future__ import annotations

import ast
import json

import pytest

from keyless import clouds
from keyless.clouds import existing
from keyless.config import ConfigError, load_stack_config
from keyless.package.schema import package_schema
from tests.conftest import ROOT, load_stack_file

ASKERS = [ROOT / "__main__.py", *sorted((ROOT / "keyless" / "config").glob("*.py"))]
ASKERS += [*sorted((ROOT / "keyless" / "kinds").glob("*.py")), ROOT / "keyless" / "doctor" / "reference.py"]


def test_each_cloud_declares_what_the_rest_of_the_product_asks_of_it() -> None:
    resources = package_schema()["resources"]
    for cloud in clouds.clouds():
        assert f"keyless:index:{cloud.component}" in resources, cloud.key
        assert cloud.provider_rule(cloud.provider_key, "") != [], f"{cloud.key}: its provider key has a rule"
        assert cloud.spec.fields and cloud.summary.startswith(f"cloud {cloud.key}:")
        fields = [*cloud.lookup.fields.values(), *cloud.existing.fields.values()]
        assert all(each.doc.startswith(f"{cloud.title}") for each in fields), (
            f"{cloud.key}: its keys say whose they are"
        )
    assert [cloud.key for cloud in clouds.clouds()] + ["none"] == existing.identity_clouds()


def test_no_module_that_asks_the_registry_names_a_cloud() -> None:
    names = {cloud.key for cloud in clouds.clouds()} | {existing.KEY}
    naming = []
    for path in ASKERS:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in names:
                naming.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert naming == []


@pytest.mark.parametrize(
    ("stack", "lookup", "key"),
    [
        ("platform", {"clusterName": "platform", "location": "us-central1"}, "keyless:existing.lookup.location"),
        (
            "platform",
            {"clusterName": "platform", "resourceGroupName": "rg"},
            "keyless:existing.lookup.resourceGroupName",
        ),
    ],
)
def test_a_key_another_cloud_adds_applies_to_that_cloud_only(stack: str, lookup: dict[str, str], key: str) -> None:
    values, _ = load_stack_file(stack)
    section = {**json.loads(values["keyless:existing"]), "lookup": lookup}
    with pytest.raises(ConfigError) as error:
        load_stack_config({**values, "keyless:existing": json.dumps(section)}, stack=stack)
    assert f"{key}: applies to identityCloud " in str(error.value)


@pytest.mark.parametrize("stack", ["dev", "eks-dev", "aks-dev", "existing-dev", "gke-direct"])
def test_the_doctors_issuer_is_the_one_the_cloud_registers(stack: str) -> None:
    values, secrets = load_stack_file(stack)
    reference = load_stack_config(values, stack=stack, secret_keys=secrets).issuer_reference()
    if stack in ("dev", "gke-direct"):
        assert reference.url is not None and reference.url.startswith("https://container.googleapis.com/v1/projects/")
    else:
        assert reference.url is None and reference.cloud in ("eks", "aks")
