"""Bad input, tried systematically: every key of every object section and of the first entry of every
list section of every committed stack, given a value of every other JSON type, and every present
value replaced by text of odd shapes. Each is either accepted or refused with a problem naming that
key, before any resource; never another exception (a traceback of ours)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from keyless.config import ConfigError, load_stack_config, sections
from keyless.config.read import from_stack_file
from keyless.core.spec import Field, Spec, camel
from tests.conftest import ROOT, stack_names

WRONG_TYPES: dict[str, list[Any]] = {
    "text": [[], {}, 12, True, ["x"]],
    "int": [[], {}, "x", True, 1.5, "-1"],
    "bool": [[], {}, "x", 3, "yes"],
    "list": [{}, "x", 12, True, [[]], [{}], [None]],
    "map": [[], "x", 12, True, {"a": []}, {"a": {}}],
    "object": [[], "x", 12, True],
    "objects": [{}, "x", 12, True, [1], ["x"], [[]]],
}
ODD_TEXT = ["", " ", "x", "UPPER", "a" * 300, "a/b", "0s", "-1", "${secret}", "é", "a\nb"]


def _sites(values: Mapping[str, str]) -> Iterator[tuple[str, tuple[Any, ...], Spec]]:
    """(stack key, path into its JSON, the spec of the object there) for every object the stack sets."""
    for name, each in sections.stack().fields.items():
        key = f"keyless:{camel(name)}"
        if each.spec is None or key not in values:
            continue
        base: tuple[Any, ...] = () if each.kind == "object" else (0,)
        yield key, base, each.spec
        for inner_name, inner in each.spec.fields.items():
            if inner.spec is not None:
                yield key, (*base, camel(inner_name), *(() if inner.kind == "object" else (0,))), inner.spec


def _trials() -> Iterator[tuple[str, str, Any, str]]:
    """(stack, key as the user writes it, bad value, the config key's JSON text with it)."""
    for stack in stack_names():
        values = from_stack_file(stack, ROOT).values
        for key, path, spec in _sites(values):
            document = json.loads(values[key])
            target = document
            try:
                for step in path:
                    target = target[step]
            except (KeyError, IndexError):
                continue
            for name, each in spec.fields.items():
                for bad in _bad_values(each, target.get(camel(name))):
                    changed = json.loads(json.dumps(document))
                    inner = changed
                    for step in path:
                        inner = inner[step]
                    inner[camel(name)] = bad
                    where = key + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
                    yield stack, f"{where}.{camel(name)}", bad, json.dumps(changed)


def _bad_values(each: Field, present: Any) -> list[Any]:
    odd = ODD_TEXT if isinstance(present, str) else []
    return [*WRONG_TYPES.get(each.kind, []), *odd]


TRIALS = list(_trials())


def test_the_trials_reach_every_section_the_stacks_set() -> None:
    keys = {trial[1].split(".")[0].split("[")[0] for trial in TRIALS}
    assert {"keyless:workloads", "keyless:escStores", "keyless:workflowRunners", "keyless:operatorStacks"} <= keys
    assert {"keyless:gke", "keyless:eks", "keyless:aks", "keyless:existing", "keyless:loginJob"} <= keys
    assert len(TRIALS) > 1000


@pytest.mark.parametrize("stack", stack_names())
def test_bad_values_are_refused_naming_their_key_or_accepted_never_a_traceback(stack: str) -> None:
    raw = from_stack_file(stack, ROOT)
    unnamed, crashed, silent = [], [], []
    for trial_stack, where, bad, text in TRIALS:
        if trial_stack != stack:
            continue
        values = {**raw.values, where.split(".")[0].split("[")[0]: text}
        try:
            load_stack_config(values, stack=stack, secret_keys=raw.secret_keys)
        except ConfigError as error:
            # A value another entry refers to (a workload an Operator stack names) may be named there.
            if not any(p.key.startswith(where) or (bad and str(bad) in str(p)) for p in error.problems):
                unnamed.append(f"{where} = {bad!r}: {[str(p) for p in error.problems][:2]}")
        except Exception as error:  # what the test looks for
            crashed.append(f"{where} = {bad!r}: {type(error).__name__}: {error}")
        else:
            if not isinstance(bad, str):
                silent.append(f"{where} = {bad!r}")
    assert crashed == []
    assert unnamed == []
    assert silent == [], "a value of the wrong type was accepted"
