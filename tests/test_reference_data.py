"""The upstream files the tests validate against are the team's reference set, unchanged.

The copies in ``tests/reference-data`` let a fresh clone test on its own; where the reference set
(``../shared/reference-data``) sits beside the clone, each copy must equal its original, so a copy
cannot drift from the file it claims to be.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REFERENCE_DATA, ROOT

UPSTREAM = ROOT.parent / "shared" / "reference-data"
# Written here, not copied: the folder's overview and the metaschema's source note.
OWN = {Path("README.md"), Path("probes/SOURCES.md")}
COPIES = sorted(p.relative_to(REFERENCE_DATA) for p in REFERENCE_DATA.rglob("*") if p.is_file())


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason="the team's reference set is not beside this clone")
@pytest.mark.parametrize("copy", [c for c in COPIES if c not in OWN], ids=str)
def test_each_copy_equals_the_reference_sets_file(copy: Path) -> None:
    assert (REFERENCE_DATA / copy).read_bytes() == (UPSTREAM / copy).read_bytes()
