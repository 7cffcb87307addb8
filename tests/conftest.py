import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from offline_preview.engine import ProgramRun, run_program  # noqa: E402
from offline_preview.stacks import load_stack_file  # noqa: E402


def run_component(build: Callable[[], object], config: dict[str, Any] | None = None) -> ProgramRun:
    """Register whatever ``build`` creates on the mock engine and return the record."""

    def program() -> None:
        build()

    return run_program(config or {}, program=program)


def run_stack(config: dict[str, Any], *, secret_keys: tuple[str, ...] = (), raise_errors: bool = True) -> ProgramRun:
    return run_program(config, secret_keys=secret_keys, raise_errors=raise_errors)


@pytest.fixture
def dev_config() -> dict[str, Any]:
    values, _ = load_stack_file("dev")
    return dict(values)
