"""The keyless guardrails as a CrossGuard policy pack's entry point (``__main__.py`` of the pack).

The engine runs ``python -u -m pulumi.policy <engine> <pack folder>``, which runs this file;
constructing the ``PolicyPack`` starts the analyzer server and prints its port. The policies
themselves live in ``keyless.policies``.
"""

import pulumi_policy

from keyless.policies.crossguard import serve

serve(pulumi_policy)
