"""The configuration reference (``docs/configuration.md``), generated from the config specs.

Each row is one key: its default, what its rule accepts (asked of the rule itself) and its
meaning (the key's own doc, else the component argument it maps to, from the package schema).
``python -m keyless.config.reference`` prints it; a test checks the page holds exactly this.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from enum import Enum
from typing import Any

from keyless import clouds, kinds
from keyless.config import sections
from keyless.core.problems import MISSING
from keyless.core.spec import Field, Spec, camel, join
from keyless.package.reference import table_cell

START = "<!-- configuration-reference:start -->"
END = "<!-- configuration-reference:end -->"

# Which schema object documents the fields a section shares with a component.
_DOCUMENTED_BY = {
    "": "PulumiCloudTrust",
    "loginJob": "OidcLoginJob",
    "issuer": "PulumiCloudTrust",
}
"""Which component (or type) of the package schema documents the fields a section shares with it;
each cloud's and each kind's section names its own."""
_PROBE: dict[str, Any] = {"text": "\x00", "int": "\x00", "bool": "\x00", "list": ["\x00"], "map": "\x00"}


def accepted(each: Field) -> str:
    """What the field's rule accepts, in the rule's own words."""
    if each.rule is None or each.kind in ("object", "objects"):
        return {"object": "object", "objects": "list of objects", "map": "map"}.get(each.kind, "text")
    problems = each.rule("k", _PROBE[each.kind])
    return problems[0].accepted if problems else "text"


def default(each: Field) -> str:
    if each.default is MISSING:
        return "required"
    if each.default is None or each.kind in ("object", "objects"):
        return "—"
    value = each.default.value if isinstance(each.default, Enum) else each.default
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, (tuple, list)):
        return f"`[{', '.join(map(str, value))}]`"
    return f"`{value}`"


def _description(schema: Mapping[str, Any], section: str, name: str, each: Field) -> str:
    if each.doc:
        return each.doc
    documented = {
        **_DOCUMENTED_BY,
        **{cloud.key: cloud.component for cloud in clouds.clouds()},
        **{f"{kind.key}[]": kind.component for kind in kinds.kinds() if kind.component},
    }
    where = documented.get(section)
    if where is None:
        return ""
    token = f"keyless:index:{where}"
    owner = schema.get("resources", {}).get(token) or schema.get("types", {}).get(token) or {}
    properties = owner.get("inputProperties") or owner.get("properties") or {}
    key = "issuerName" if (section, name) == ("issuer", "name") else camel(name)
    return str(properties.get(key, {}).get("description") or "")


def _rows(schema: Mapping[str, Any], spec: Spec, path: str, section: str) -> list[str]:
    rows = []
    nested = []
    for name, each in spec.fields.items():
        key = join(path, camel(name))
        rows.append(
            f"| `{key}` | {default(each)} | {table_cell(accepted(each))} | {table_cell(_description(schema, section, name, each))} |"
        )
        if each.spec is not None:
            suffix = "[]" if each.kind == "objects" else ""
            nested.append((each.spec, f"{key}{suffix}", f"{camel(name)}{suffix}"))
    for spec_, key, name in nested:
        rows += _rows(schema, spec_, key, name)
    return rows


def render(schema: Mapping[str, Any] | None = None) -> str:
    if schema is None:
        from keyless.package.schema import package_schema

        schema = package_schema()
    lines = [
        START,
        "",
        "| key | default | accepted | meaning |",
        "| --- | --- | --- | --- |",
        *_rows(schema, sections.stack(), sections.PREFIX, ""),
        "",
        "Deprecated keys, still read until 0.3.0 with a warning naming the new key:",
        "",
    ]
    for section, renames in sections.DEPRECATED.items():
        for old, new in renames.items():
            where = join(sections.PREFIX, section) if section else sections.PREFIX
            lines.append(f"- `{join(where, old)}` → `{join(where, new)}`")
    lines += ["", END]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render() + "\n")
