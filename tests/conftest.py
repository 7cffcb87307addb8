import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from keyless.config.read import from_stack_file
from keyless.config.read import stack_names as _stack_names
from keyless.preview.engine import ProgramRun, run_program

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DATA = ROOT / "tests" / "reference-data"
"""Upstream files (CRDs, schemas) the tests validate what the project renders against (copies of
the team's reference set, kept in the repository so that a fresh clone tests on its own)."""


def crd_errors(crd: Path, document: Any, version: str = "v1") -> list[str]:
    """Where ``document`` breaks the structural schema of the CRD in ``crd`` (its CEL rules are not
    evaluated: a test checks those it relies on apart)."""
    import jsonschema
    import yaml

    definition = yaml.safe_load(crd.read_text())
    schema = next(v for v in definition["spec"]["versions"] if v["name"] == version)["schema"]["openAPIV3Schema"]
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def stack_names() -> list[str]:
    """The committed stacks of this repository (as git tracks them: a stack file of the user's own
    in the checkout is not a fixture); every ``Pulumi.<stack>.yaml`` outside a git checkout."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--", "Pulumi.*.yaml"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return _stack_names(ROOT)
    return sorted(name[len("Pulumi.") : -len(".yaml")] for name in listed)


def stack_flags() -> list[str]:
    """``--stack`` for each committed stack: what a command run on "every stack" covers in the tests."""
    return [flag for stack in stack_names() for flag in ("--stack", stack)]


def load_stack_file(stack: str) -> tuple[dict[str, Any], list[str]]:
    raw = from_stack_file(stack, ROOT)
    return dict(raw.values), list(raw.secret_keys)


def run_component(build: Callable[[], object], config: dict[str, Any] | None = None) -> ProgramRun:
    """Register whatever ``build`` creates on the mock engine and return the record."""

    def program() -> None:
        build()

    return run_program(config or {}, program=program)


def run_stack(config: dict[str, Any], *, secret_keys: tuple[str, ...] = (), raise_errors: bool = True) -> ProgramRun:
    return run_program(config, secret_keys=secret_keys, raise_errors=raise_errors, program=ROOT / "__main__.py")


@pytest.fixture
def dev_config() -> dict[str, Any]:
    values, _ = load_stack_file("dev")
    return dict(values)
