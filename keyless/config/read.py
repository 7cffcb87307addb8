"""Where stack config comes from: the running program, or a committed ``Pulumi.<stack>.yaml``.

Either way the result is what Pulumi hands a program: ``namespace:key`` → string (structured
values as JSON text), plus the keys that are secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SECRET_PLACEHOLDER = "[secret]"


class StackFileError(ValueError):
    """A stack or project file that cannot be read; the message names the file, line and column."""


def _yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise StackFileError(f"{where}: not valid YAML: {error.problem or error.context}") from None
    except yaml.YAMLError as error:
        raise StackFileError(f"{path}: not valid YAML: {error}") from None


@dataclass(frozen=True)
class RawConfig:
    values: dict[str, Any]
    secret_keys: tuple[str, ...] = ()
    project: str = "keyless"
    stack: str = "dev"
    source: str = field(default="", compare=False)


def from_runtime() -> RawConfig:
    """The running Pulumi program's config (needs only ``pulumi``, never a provider SDK)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = [key for key in values if runtime_config.is_config_secret(key)]
    secret_keys += runtime_config.get_config_secret_keys_env()
    return RawConfig(values, tuple(dict.fromkeys(secret_keys)), pulumi.get_project(), pulumi.get_stack())


def stack_names(root: Path) -> list[str]:
    return sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in root.glob("Pulumi.*.yaml"))


def _project(root: Path) -> dict[str, Any]:
    document = _yaml(root / "Pulumi.yaml")
    if not isinstance(document, dict) or not isinstance(document.get("name"), str):
        raise StackFileError(f"{root / 'Pulumi.yaml'}: has no project name (name: <project>)")
    return document


def project_name(root: Path) -> str:
    return str(_project(root)["name"])


def project_main(root: Path) -> str | None:
    """The project's ``main:`` (the program's folder or file), if Pulumi.yaml sets one."""
    main = _project(root).get("main")
    return main if isinstance(main, str) else None


def from_stack_file(stack: str, root: Path) -> RawConfig:
    """A committed stack's config. A ``secure:`` value can only be decrypted by the stack's
    secrets provider, so offline it becomes a placeholder that is still marked secret."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no stack file {path.name}; committed stacks: {', '.join(stack_names(root))}")
    document = _yaml(path) or {}
    if not isinstance(document, dict) or not isinstance(document.get("config") or {}, dict):
        raise StackFileError(f"{path}: expected a mapping with a 'config:' mapping of <namespace>:<key> values")
    values: dict[str, Any] = {}
    secret_keys: list[str] = []
    for key, value in (document.get("config") or {}).items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[key] = SECRET_PLACEHOLDER
            secret_keys.append(key)
        else:
            # An empty value (`key:` with nothing after it) is an empty string, never the text "null".
            values[key] = "" if value is None else value if isinstance(value, str) else json.dumps(value)
    return RawConfig(values, tuple(secret_keys), project_name(root), stack, str(path))


def parse_structured(text: Any) -> tuple[Any, str | None]:
    """Structured config arrives as JSON text; plain strings stay strings. Returns (value, error)."""
    if not isinstance(text, str):
        return text, None
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped), None
        except json.JSONDecodeError as error:
            return None, error.msg
    return text, None
