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


def project_name(root: Path) -> str:
    return str(yaml.safe_load((root / "Pulumi.yaml").read_text())["name"])


def from_stack_file(stack: str, root: Path) -> RawConfig:
    """A committed stack's config. A ``secure:`` value can only be decrypted by the stack's
    secrets provider, so offline it becomes a placeholder that is still marked secret."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no stack file {path.name}; committed stacks: {', '.join(stack_names(root))}")
    document = yaml.safe_load(path.read_text()) or {}
    values: dict[str, Any] = {}
    secret_keys: list[str] = []
    for key, value in (document.get("config") or {}).items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[key] = SECRET_PLACEHOLDER
            secret_keys.append(key)
        else:
            values[key] = value if isinstance(value, str) else json.dumps(value)
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
