"""Where the Pulumi project is: the folder holding ``Pulumi.yaml`` and the stack files."""

from pathlib import Path


def project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the working directory) with a
    ``Pulumi.yaml``; else this repository's own, when the package runs from a checkout."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "Pulumi.yaml").is_file():
        return checkout
    raise FileNotFoundError(f"no Pulumi.yaml in {here} or above; run from a Pulumi project or pass --root")
