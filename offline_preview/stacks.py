"""Committed stack files (``Pulumi.<stack>.yaml``) read the way Pulumi hands them to the program."""

import json
from pathlib import Path

import yaml

from offline_preview.engine import ROOT


def stack_names(root: Path = ROOT) -> list[str]:
    return sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in root.glob("Pulumi.*.yaml"))


def project_name(root: Path = ROOT) -> str:
    return str(yaml.safe_load((root / "Pulumi.yaml").read_text())["name"])


def load_stack_file(stack: str, root: Path = ROOT) -> tuple[dict[str, str], list[str]]:
    """The stack's config as ``key → string`` (objects as JSON), and its secret keys.

    A ``secure:`` value can only be decrypted by the stack's secrets provider, so offline it
    becomes a placeholder that is still marked secret.
    """
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no stack file {path.name}; committed stacks: {', '.join(stack_names(root))}")
    document = yaml.safe_load(path.read_text()) or {}
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in (document.get("config") or {}).items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[key] = "[secret]"
            secret_keys.append(key)
        else:
            values[key] = value if isinstance(value, str) else json.dumps(value)
    return values, secret_keys
