"""The kind registry: a kind is one module. A toy kind, declared here and nowhere else, is read from
its own stack config section, created by the program, trusted by the issuer, held to the rules
every kind's accounts and namespaces obey, diagnosed by the doctor and shown in the access map;
and no module outside the registry names a kind."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from keyless import kinds
from keyless.cli import main
from keyless.config import ConfigError, load_stack_config
from keyless.config import reference as config_reference
from keyless.core.pulumi_cloud import TokenType
from keyless.core.spec import Spec, required
from keyless.core.values import dns1123_label, identifier
from keyless.policies import POLICIES, STACK_POLICIES, access_map
from keyless.record import ProgramRun
from tests.conftest import ROOT, load_stack_file, run_stack
from tests.oidc_issuer import token_file

SPEC = Spec(
    "badges",
    {
        "namespace": required(dns1123_label, doc="toy: the badge's namespace."),
        "name": required(dns1123_label, doc="toy: the badge's service account."),
        "team_name": required(identifier, doc="toy: the team whose token the badge gets."),
    },
)


@dataclass(frozen=True)
class Badge:
    key: str
    namespace: str
    name: str
    team: str

    @property
    def reference(self) -> str:
        return f"{self.namespace}/{self.name}"


def _read(items: Sequence[tuple[str, Mapping[str, Any]]], reading: kinds.Reading) -> tuple[Badge, ...]:
    return tuple(Badge(key, item["namespace"], item["name"], item["team_name"]) for key, item in items)


def _create(badges: Sequence[Badge], context: kinds.Context) -> kinds.Made:
    import pulumi_kubernetes as k8s

    made = kinds.Made()
    for badge in badges:
        made.accounts[badge.reference] = k8s.core.v1.ServiceAccount(
            f"{badge.namespace}.{badge.name}-badge",
            metadata={"namespace": context.namespace(badge.namespace), "name": badge.name},
            opts=context.in_namespace(badge.namespace),
        )
        made.policies.append(_policy(badge))
    return made


def _policy(badge: Badge) -> dict[str, Any]:
    return {"namespace": badge.namespace, "service_account": badge.name, "token_type": "team", "team_name": badge.team}


def _section(run: ProgramRun, tokens: Mapping[tuple[str, str], str]) -> kinds.Section | None:
    rows = [
        (f"`{r.plain_inputs['metadata']['namespace']}/{r.plain_inputs['metadata']['name']}`",)
        for r in run.of_type("kubernetes:core/v1:ServiceAccount")
        if r.name.endswith("-badge")
    ]
    return kinds.Section("Badges", ("badge",), rows) if rows else None


TOY = kinds.Kind(
    key="badges",
    summary="toy: a service account with a team token, for the registry's test.",
    spec=lambda: SPEC,
    read=_read,
    create=_create,
    accounts=lambda b: (kinds.Account(b.key, b.namespace, b.name),),
    namespaces=lambda b: (kinds.NamespaceUse(b.key, b.namespace),),
    policies=lambda b: (_policy(b),),
    subject=kinds.Subject(
        "badge",
        "badge",
        "a badge of the stack",
        lambda b: kinds.Request(b.reference, TokenType.TEAM.value, 3600, f"the badge {b.reference}", team=b.team),
    ),
    section=_section,
)


@pytest.fixture
def toy() -> Iterator[kinds.Kind[Badge]]:
    kinds.register(TOY)
    try:
        yield TOY
    finally:
        kinds.unregister(TOY.key)


def _dev_with(*badges: dict[str, str]) -> dict[str, str]:
    values, _ = load_stack_file("dev")
    return {**values, "keyless:badges": json.dumps(list(badges))}


BADGE = {"namespace": "badges", "name": "blue", "teamName": "platform"}


def test_a_toy_kind_registered_in_its_own_module_previews_end_to_end(toy: kinds.Kind[Badge]) -> None:
    run = run_stack(_dev_with(BADGE))
    account = run.one("kubernetes:core/v1:ServiceAccount", "badges.blue-badge")
    namespace = run.one("kubernetes:core/v1:Namespace", "badges")
    assert run.depends_on(account, namespace), "the stack creates the badge's namespace first"
    policies = run.one("pulumiservice:index:OidcIssuer").plain_inputs["policies"]
    badge = next(p for p in policies if p["rules"]["sub"] == "system:serviceaccount:badges:blue")
    assert (badge["tokenType"], badge["teamName"]) == ("team", "platform")
    assert "## Badges" in access_map.render(run, "keyless/dev")
    row = next(r for r in access_map.rows(run)[0] if r.account == "badges/blue")
    assert row.token == "team token (platform)"


def test_a_kind_is_held_to_the_rules_every_kind_obeys(toy: kinds.Kind[Badge]) -> None:
    taken = {**BADGE, "namespace": "pulumi-runner", "name": "pulumi-runner"}
    with pytest.raises(ConfigError) as error:
        load_stack_config(_dev_with(taken))
    assert "keyless:badges[0]: uses the service account pulumi-runner/pulumi-runner of keyless:workloads[0]" in str(
        error.value
    )
    with pytest.raises(ConfigError) as error:
        load_stack_config(_dev_with({**BADGE, "colour": "red"}))
    assert "keyless:badges[0].colour: unknown key" in str(error.value)


def test_the_config_knows_a_kind_only_while_it_is_registered(toy: kinds.Kind[Badge]) -> None:
    assert load_stack_config(_dev_with(BADGE)).entries["badges"] == (
        Badge("keyless:badges[0]", "badges", "blue", "platform"),
    )
    assert "`keyless:badges[].teamName`" in config_reference.render()
    kinds.unregister(TOY.key)
    with pytest.raises(ConfigError) as error:
        load_stack_config(_dev_with(BADGE))
    assert "keyless:badges: unknown key" in str(error.value)
    kinds.register(TOY)


def test_the_doctor_takes_a_kinds_subject(toy: kinds.Kind[Badge], tmp_path: Path, capsys: Any) -> None:
    stack = tmp_path / "Pulumi.toy.yaml"
    config = {key: json.loads(value) if value[:1] in "[{" else value for key, value in _dev_with(BADGE).items()}
    stack.write_text(json.dumps({"config": config}))
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    iss = "https://container.googleapis.com/v1/projects/my-gcp-project/locations/us-central1/clusters/keyless-dev"
    path = token_file(tmp_path / "t.jwt", "badges", "blue", "urn:pulumi:org:my-pulumi-org", issuer=iss)
    argv = ["doctor", "--root", str(tmp_path), "--stack", "toy", "--token-file", str(path), "--json"]
    assert main([*argv, "--badge", "badges/blue"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["request"]["token_type"] == "team" and report["request"]["team"] == "platform"
    assert main([*argv, "--badge", "badges/red"]) == 2
    assert "'badges/red' is not a badge of the stack; its badges: badges/blue" in capsys.readouterr().err


def test_each_kind_declares_what_the_rest_of_the_product_asks_of_it() -> None:
    names = {p.name for p in POLICIES} | {p.name for p in STACK_POLICIES}
    for kind in kinds.kinds():
        assert kind.summary and kind.component, kind.key
        assert set(kind.guardrails) <= names, f"{kind.key} names a guardrail that does not exist"
        fields = kind.spec().fields.values()
        assert all(each.doc or kind.component for each in fields), f"{kind.key}: every key is documented"
    flags = [kind.subject.flag for kind in kinds.kinds() if kind.subject is not None]
    assert len(flags) == len(set(flags))


def test_no_module_outside_the_registry_names_a_kind() -> None:
    """Kind keys are spelt only in their kind's module (``workloads`` is also the name of
    ``PulumiCloudTrust``'s list of policies)."""
    names = {kind.key for kind in kinds.kinds()} | {kind.field_name for kind in kinds.kinds()}
    names -= {"workloads"}
    sources = [ROOT / "__main__.py", *sorted((ROOT / "keyless").rglob("*.py"))]
    naming = []
    for path in sources:
        if (ROOT / "keyless" / "kinds") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found = [
                    name for name in names if node.value == name or node.value.startswith((f"{name}[", f"{name}."))
                ]
                naming += [f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}" for _ in found]
    assert naming == []


def test_each_kind_is_its_module_its_tests_and_its_docs() -> None:
    """What a new kind brings: the module that registers it, tests that name its section, and a page
    that explains it (beside the generated configuration reference)."""
    import inspect

    pages = {p: p.read_text() for p in (ROOT / "docs").glob("*.md") if p.name != "configuration.md"}
    tests = [p.read_text() for p in (ROOT / "tests").glob("test_*.py") if p.name != "test_kind_registry.py"]
    for kind in kinds.kinds():
        module = Path(inspect.getfile(kind.read))
        assert module.parent == ROOT / "keyless" / "kinds", f"{kind.key} is declared outside keyless/kinds"
        assert any(f"keyless:{kind.key}" in text for text in tests), f"no test names keyless:{kind.key}"
        assert any(f"keyless:{kind.key}" in text for text in pages.values()), f"no page explains keyless:{kind.key}"
