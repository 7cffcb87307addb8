"""Reading a resource's inputs as the policy server hands them, unknowns included."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from keyless.core.problems import UNKNOWN

_UNKNOWN_SENTINELS = {
    # The engine's markers for values a preview cannot know yet, one per type (pulumi_policy's
    # proxy raises on them; they may also arrive unwrapped).
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    "030794c1-ac77-496b-92df-f27374a8bd58",
    "e48ece36-62e2-4504-bad9-02848725956a",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
}


def plain(value: Any) -> Any:
    """``value`` as plain data: a proxy that raises on an unknown (as the policy server's does)
    yields :data:`UNKNOWN` there instead. A plain container never raises on its own keys, so any
    error while reading one means the value is not known yet."""
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key in list(value.keys()):
            try:
                item = value[key]
            except Exception:  # the proxy's UnknownValueError: cannot judge yet
                result[key] = UNKNOWN
                continue
            result[key] = plain(item)
        return result
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = []
        for index in range(len(value)):
            try:
                items.append(plain(value[index]))
            except Exception:
                items.append(UNKNOWN)
        return items
    if isinstance(value, str) and value in _UNKNOWN_SENTINELS:
        return UNKNOWN
    return value


def at(props: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted path (``spec.template.spec``), :data:`UNKNOWN` if any step is unknown."""
    value = props
    for part in path.split("."):
        if value is UNKNOWN:
            return UNKNOWN
        if isinstance(value, Mapping):
            value = value.get(part, default if part == path.split(".")[-1] else None)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return default
        if value is None:
            return default
    return value


def json_document(value: Any) -> Any:
    """A JSON policy document given as text (or already parsed); UNKNOWN stays unknown."""
    if value is UNKNOWN or value is None:
        return value
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def contains_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(contains_unknown(item) for item in value)
    return False
