"""keyless: Kubernetes workloads log in to Pulumi Cloud and to their cloud without stored keys.

* :mod:`keyless.core`: the domain's rules, free of provider SDKs;
* :mod:`keyless.config`: the stack configuration, mapped onto the components' arguments;
* :mod:`keyless.preview`: the program on Pulumi's mock engine, and its reviewable artifacts;
* :mod:`keyless.package`: the components served as a Pulumi package;
* :mod:`keyless.cli`: ``python -m keyless <command>`` (also the ``keyless`` console script).

The components are :mod:`keyless.components`.
"""

__version__ = "0.1.0"
