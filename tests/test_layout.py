"""The package's shape: one top-level package, no module nothing imports, and the layers in order
(the policies and the core never reach up into the preview, the config or the components)."""

from __future__ import annotations

import ast
import fnmatch
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "keyless"
ENTRY_POINTS = {
    # Run by name rather than imported: `python -m keyless`, the policy pack's entry point (copied
    # into a built pack as its __main__.py) and the generators run with `python -m`.
    "keyless/__main__.py",
    "keyless/policies/serve.py",
    "keyless/docs.py",
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        name = relative.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
        found[name] = path
    return found


def _imports(path: Path, name: str) -> set[str]:
    """Every module ``path`` imports, absolute, including ``from pkg import module``."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([base] if base else [])])
            imported.add(base)
            imported |= {f"{base}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("keyless."):
            imported.add(node.value)  # import_module("keyless.components.<name>") and the like
    return imported


def test_the_wheel_installs_one_top_level_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    packages = [p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()]
    included = [p for p in packages if any(fnmatch.fnmatch(p, pattern) for pattern in config["include"])]
    assert included == ["keyless"]


def test_no_module_is_left_that_nothing_imports() -> None:
    modules = _modules()
    sources = [*modules.items(), ("__main__", ROOT / "__main__.py")]
    sources += [(f"tests.{p.stem}", p) for p in (ROOT / "tests").glob("*.py")]
    sources += [(f"provider.{p.stem}", p) for p in (ROOT / "provider").glob("*.py")]
    imported = set().union(*(_imports(path, name) for name, path in sources))
    unused = []
    for name, path in modules.items():
        relative = path.relative_to(ROOT).as_posix()
        importers = {i for i in imported if i == name or i.startswith(f"{name}.")}
        if relative not in ENTRY_POINTS and not importers:
            unused.append(relative)
    assert unused == []


def test_the_layers_never_reach_up() -> None:
    """The policies run in a built pack with nothing but ``keyless.core`` beside them; the core
    needs no provider SDK."""
    below = {
        "keyless.policies": ("keyless.preview", "keyless.config", "keyless.components", "keyless.commands"),
        "keyless.core": (
            "keyless.preview",
            "keyless.config",
            "keyless.components",
            "keyless.policies",
            "keyless.commands",
            "pulumi_",
        ),
        "keyless.record": ("keyless.preview", "keyless.config", "keyless.components", "keyless.policies"),
    }
    for name, path in _modules().items():
        for layer, forbidden in below.items():
            if name == layer or name.startswith(f"{layer}."):
                reached = {i for i in _imports(path, name) if i.startswith(forbidden)}
                assert reached == set(), f"{name} imports {sorted(reached)}"


def test_the_help_is_written_for_a_terminal_with_an_example_per_command_and_the_exit_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from keyless.cli import COMMANDS, main

    pages = {}
    for argv in (["--help"], *[[command.NAME, "--help"] for command in COMMANDS], ["policy", "build", "--help"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 0
        pages[" ".join(argv)] = capsys.readouterr().out
    for name, page in pages.items():
        assert "``" not in page and ":func:" not in page and ":mod:" not in page, name
        assert "example" in page, f"{name}: no example"
    top = pages["--help"]
    assert "exit status:" in top and "  3  keyless doctor: likely refused" in top
    assert all(command.NAME in top for command in COMMANDS)
    shared = {"preview --help": "--stack", "check --help": "--stack", "doctor --help": "--stack"}
    assert all(flag in pages[name] and "--root" in pages[name] for name, flag in shared.items())


def test_a_stack_file_of_the_users_own_is_not_a_fixture() -> None:
    """The suite runs on the committed stacks: a `Pulumi.<mine>.yaml` in the checkout changes nothing."""
    from tests.conftest import stack_names

    mine = ROOT / "Pulumi.zz-mine.yaml"
    mine.write_text("config:\n  keyless:cloud: nowhere\n")
    try:
        assert "zz-mine" not in stack_names()
    finally:
        mine.unlink()
