"""The component reference (``docs/components.md``), rendered from the package schema; the tests
check the page holds exactly this.
"""

import re
import sys
from collections.abc import Mapping
from typing import Any

from keyless.package.schema import package_schema

START = "<!-- component-reference:start -->"
END = "<!-- component-reference:end -->"


def type_name(prop: Mapping[str, Any]) -> str:
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit(":", 1)[-1]
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list<{type_name(prop['items'])}>"
    if kind == "object" and "additionalProperties" in prop:
        return f"map<{type_name(prop['additionalProperties'])}>"
    return str(kind)


def _cell(text: str | None) -> str:
    return table_cell(text or "")


def table_cell(text: str) -> str:
    """Text for one Markdown table cell: one line, ``|`` escaped, and ``<placeholders>`` outside
    code spans as entities (Markdown would take them for HTML tags and show nothing)."""
    parts = re.split(r"(`+[^`]*`+)", " ".join(text.split()).replace("|", "\\|"))
    return "".join(
        part if index % 2 else part.replace("<", "&lt;").replace(">", "&gt;") for index, part in enumerate(parts)
    )


def _table(properties: Mapping[str, Any], required: list[str], heading: str) -> list[str]:
    lines = [f"| {heading} | type | required | description |", "| --- | --- | --- | --- |"]
    for name, prop in properties.items():
        lines.append(
            f"| `{name}` | `{type_name(prop)}` | {'yes' if name in required else 'no'} | {_cell(prop.get('description'))} |"
        )
    return lines


def render(schema: Mapping[str, Any] | None = None) -> str:
    schema = schema or package_schema()
    lines = [START, ""]
    for token, resource in schema["resources"].items():
        name = token.rsplit(":", 1)[-1]
        lines += [f"#### `{name}` (`{token}`)", ""]
        if "deprecationMessage" in resource:
            lines += [f"**Deprecated**: {_cell(resource['deprecationMessage'])}.", ""]
            continue
        lines += [_cell(resource.get("description")).split(". ")[0].rstrip(".") + ".", ""]
        for alias in resource.get("aliases", []):
            lines += [f"Formerly `{alias['type']}`: a live stack's resources move to this type unchanged.", ""]
        lines += _table(resource.get("inputProperties", {}), resource.get("requiredInputs", []), "input")
        lines += [""]
        lines += _table(resource.get("properties", {}), resource.get("required", []), "output")
        lines += [""]
    for token, definition in schema.get("types", {}).items():
        name = token.rsplit(":", 1)[-1]
        if "enum" in definition:
            values = ", ".join(f"`{member['value']}`" for member in definition["enum"])
            lines += [f"#### enum `{name}`", "", f"{_cell(definition.get('description'))} Values: {values}.", ""]
            continue
        lines += [f"#### type `{name}`", ""]
        lines += _table(definition.get("properties", {}), definition.get("required", []), "field")
        lines += [""]
    lines.append(END)
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render() + "\n")
