"""The documentation a newcomer follows: every relative link leads to a file (and a heading) of the
repository, and every Python snippet runs, on the mock engine, as it is written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from keyless.preview.engine import run_program
from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "CHANGELOG.md"]
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as '-'."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_leads_somewhere(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no {file.relative_to(ROOT) if file.is_relative_to(ROOT) else file}")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            broken.append(f"{target}: no heading #{anchor}")
    assert broken == []


SNIPPETS = [(page, block) for page in PAGES for block in FENCE.findall(page.read_text())]


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[f"{page.name}-{index}" for index, (page, _) in enumerate(SNIPPETS)])
def test_every_python_snippet_runs_as_written(snippet: tuple[Path, str]) -> None:
    _, code = snippet
    run = run_program(
        {"keyless:kubeconfig": "apiVersion: v1"},
        program=lambda: exec(compile(code, "snippet", "exec"), {}),  # noqa: S102  # the docs' own code
    )
    assert run.registrations, "the snippet registered nothing"
