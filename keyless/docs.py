"""Regenerate the reference parts of ``docs/``: ``python -m keyless.docs`` (the tests check them)."""

from __future__ import annotations

import sys
from pathlib import Path

from keyless.preview.root import project_root

GENERATED = {
    "docs/configuration.md": "keyless.config.reference",
    "docs/components.md": "keyless.package.reference",
}


def between(text: str, start: str, end: str) -> str:
    """The part of ``text`` from the ``start`` marker through the ``end`` marker."""
    if start not in text or end not in text:
        raise ValueError(f"markers {start} … {end} are missing")
    return text[text.index(start) : text.index(end) + len(end)]


def rendered(page: str) -> tuple[str, str, str]:
    """(start marker, end marker, generated text) of a generated page."""
    from importlib import import_module

    module = import_module(GENERATED[page])
    return module.START, module.END, module.render()


def main() -> int:
    root = project_root()
    for page in GENERATED:
        path = root / page
        start, end, body = rendered(page)
        text = path.read_text()
        path.write_text(text.replace(between(text, start, end), body))
        print(f"updated {Path(page)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
