"""Serves the components as the ``keyless`` Pulumi package, for stacks in any Pulumi language.

    pulumi package add <path to this folder, or git URL of the repository + /provider>

The plugin's environment installs this repository as a package (``requirements.txt``), so the
schema is inferred from the installed components' TypedDict args and ``pulumi.Output`` attributes.
"""

from pulumi.provider.experimental import component_provider_host

from keyless.package.schema import PACKAGE_NAME, VERSION, served_components

if __name__ == "__main__":
    component_provider_host(components=served_components(), name=PACKAGE_NAME, version=VERSION)
