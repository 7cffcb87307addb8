"""Serves the components as the ``keyless`` Pulumi package, for stacks in any Pulumi language.

    pulumi package add <path to this folder, or git URL of the repository + /provider>

The schema is inferred from the components' TypedDict args and ``pulumi.Output`` attributes.
"""

import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from provider.package import PACKAGE_NAME, VERSION, served_components  # noqa: E402

if __name__ == "__main__":
    from pulumi.provider.experimental import component_provider_host

    component_provider_host(components=served_components(), name=PACKAGE_NAME, version=VERSION)
