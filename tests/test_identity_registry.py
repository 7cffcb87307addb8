"""The identity-mode registry: a mode is one module. A toy mode, registered here and nowhere else,
is accepted by the stack config, created by the program, annotated on the ServiceAccount, exported
as the workload's cloudIdentity and shown in the access map; and no module outside the registry
names a mode."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator, Sequence

import pytest

from keyless import identity
from keyless.config import ConfigError, load_stack_config
from keyless.core.spec import Field
from keyless.core.values import text
from keyless.policies import POLICIES, STACK_POLICIES, access_map
from keyless.record import Registration
from tests.conftest import ROOT, load_stack_file, run_stack

ANNOTATION = "toy.example.com/identity"


def _create(binding: identity.Binding) -> identity.Created:
    import pulumi_kubernetes as k8s

    # A mode may create whatever its identity is; the toy's is a ConfigMap in the workload's namespace.
    badge = k8s.core.v1.ConfigMap(
        f"{binding.name}-toy",
        metadata={"namespace": binding.namespace, "name": f"{binding.service_account}-toy"},
        data={"colour": binding.settings["toy_colour"], "pool": binding.cluster["workload_pool"]},
    )
    name = badge.metadata.apply(lambda meta: f"toy:{meta['name'] if isinstance(meta, dict) else meta.name}")
    return identity.Created(name, {ANNOTATION: name})


def _describe(registrations: Sequence[Registration]) -> dict[tuple[str, str], identity.Access]:
    found = {}
    for r in registrations:
        meta = r.plain_inputs.get("metadata", {}) if r.type == "kubernetes:core/v1:ServiceAccount" else {}
        value = (meta.get("annotations") or {}).get(ANNOTATION)
        if value:
            found[(str(meta.get("namespace")), str(meta.get("name")))] = identity.Access(str(value), ("play",))
    return found


TOY = identity.Mode(
    name="toy",
    summary="a toy identity, for the registry's test",
    clouds=("gke",),
    create=_create,
    describe=_describe,
    fields={"toy_colour": Field(text, "red", doc="toy: the badge's colour.")},
    needs=frozenset({"workload_pool"}),
)


@pytest.fixture
def toy() -> Iterator[identity.Mode]:
    identity.register(TOY)
    try:
        yield TOY
    finally:
        identity.unregister(TOY.name)


def _dev_with(**workload: object) -> dict[str, str]:
    values, _ = load_stack_file("dev")
    workloads = json.loads(values["keyless:workloads"])
    workloads[0] = {**workloads[0], **workload}
    return {**values, "keyless:workloads": json.dumps(workloads)}


def test_a_toy_mode_registered_in_its_own_module_previews_end_to_end(toy: identity.Mode) -> None:
    run = run_stack(_dev_with(identityMode="toy", toyColour="blue"))
    badge = run.one("kubernetes:core/v1:ConfigMap", "pulumi-runner.pulumi-runner-toy").plain_inputs
    assert badge["data"] == {"colour": "blue", "pool": "my-gcp-project.svc.id.goog"}
    account = run.one("kubernetes:core/v1:ServiceAccount").plain_inputs
    assert account["metadata"]["annotations"] == {ANNOTATION: "toy:pulumi-runner-toy"}
    assert run.outputs["workloads"][0]["cloudIdentity"] == "toy:pulumi-runner-toy"
    assert not run.of_type("gcp:serviceaccount/account:Account"), "the default mode's identity is not created"
    row = next(r for r in access_map.rows(run)[0] if r.account == "pulumi-runner/pulumi-runner")
    assert (row.identity, row.grants) == ("toy:pulumi-runner-toy", ["play"])


def test_the_config_knows_a_registered_mode_and_its_fields_only_with_it(toy: identity.Mode) -> None:
    config = load_stack_config(_dev_with(identityMode="toy"))
    assert config.workloads[0].identity_settings == {"toy_colour": "red"}
    with pytest.raises(ConfigError) as error:
        load_stack_config(_dev_with(toyColour="blue"))
    assert "toyColour: applies to identityMode toy only; this workload's is 'gcpServiceAccount'" in str(error.value)
    identity.unregister("toy")
    with pytest.raises(ConfigError) as error:
        load_stack_config(_dev_with(identityMode="toy"))
    assert "identityMode: 'toy' is not accepted" in str(error.value)
    identity.register(TOY)


def test_each_mode_declares_what_the_rest_of_the_product_asks_of_it() -> None:
    names = {p.name for p in POLICIES} | {p.name for p in STACK_POLICIES}
    for mode in identity.modes():
        assert mode.clouds and mode.summary and set(mode.needs) <= set(identity.FACTS), mode.name
        assert set(mode.guardrails) <= names, f"{mode.name} names a guardrail that does not exist"
        assert all(each.doc for each in mode.fields.values()), f"{mode.name}: every field is documented"
    for cloud in ("eks", "gke"):
        default = identity.default(cloud)
        assert default is not None and identity.offered(cloud)[0] is default


def test_no_module_outside_the_registry_names_a_mode() -> None:
    names = {mode.name for mode in identity.modes()}
    sources = [ROOT / "__main__.py", *sorted((ROOT / "keyless").rglob("*.py"))]
    naming = []
    for path in sources:
        if (ROOT / "keyless" / "identity") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in names:
                naming.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert naming == []
