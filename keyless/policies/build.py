"""A CrossGuard pack folder that stands on its own: ``keyless policy build DIR``.

``pulumi policy publish`` uploads a pack's folder and Pulumi installs its ``requirements.txt``
from there, so nothing may come from outside it (``-e ..`` works only in a checkout). The built
folder holds the pack's entry point, ``PulumiPolicy.yaml`` with the version, requirements that
name registry packages only, and a copy of the few ``keyless`` modules the policies run on
(``keyless.core`` and ``keyless.policies``, which need the ``pulumi`` SDK and nothing else).
The engine runs the pack with the folder as its working directory, so the copy is importable.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from keyless import __version__

PACK_MODULES = ("__init__.py", "core", "policies/__init__.py", "policies/pack.py", "policies/props.py")
"""What the pack imports of ``keyless``, relative to the package folder (``crossguard.py`` too)."""

REQUIREMENTS = """\
# Installed by Pulumi from this folder when the pack runs (pulumi preview --policy-pack DIR, or
# once published). Everything else the policies need is in keyless/ beside this file.
pulumi-policy>=1.21,<2
# 5.29.6 is the release patched for CVE-2026-0994; pulumi-policy 1.21 pins protobuf~=5.29.5.
protobuf>=5.29.6,<6
pulumi>=3.260.0,<4.0.0
"""


def pulumi_policy_yaml() -> str:
    """The pack's project file; the version lives here (``PolicyPack`` takes none)."""
    return (
        "description: Guardrails for keyless trust between Kubernetes workloads, Pulumi Cloud and cloud accounts\n"
        f"version: {__version__}\n"
        "runtime:\n"
        "  name: python\n"
        "  options:\n"
        "    toolchain: pip\n"
        "    virtualenv: venv\n"
    )


def entry_point() -> str:
    return resources.files("keyless.policies").joinpath("serve.py").read_text()


def build(directory: Path) -> list[Path]:
    """Write a self-contained, publishable pack into ``directory`` (replacing a earlier build)."""
    package = Path(str(resources.files("keyless")))
    vendored = directory / "keyless"
    if vendored.exists():
        shutil.rmtree(vendored)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for relative in (*PACK_MODULES, "policies/crossguard.py"):
        source, target = package / relative, vendored / relative
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            written += sorted(target.rglob("*.py"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            written.append(target)
    for name, text in (
        ("PulumiPolicy.yaml", pulumi_policy_yaml()),
        ("requirements.txt", REQUIREMENTS),
        ("__main__.py", entry_point()),
    ):
        (directory / name).write_text(text)
        written.append(directory / name)
    return written
