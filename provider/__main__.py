"""Serves the components as the ``keyless`` Pulumi package, for stacks in any Pulumi language.

    pulumi package add <path to this folder, or git URL of the repository + /provider>

The plugin's environment installs this repository as a package (``requirements.txt``), so the
schema is inferred from the installed components' TypedDict args and ``pulumi.Output`` attributes.
"""

import sys

from pulumi.provider import main

from keyless.package.schema import provider

if __name__ == "__main__":
    # The SDK's component provider, with a schema Pulumi's metaschema accepts (see keyless.package.schema).
    main(provider(), sys.argv[1:])
