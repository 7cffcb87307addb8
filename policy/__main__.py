"""The keyless guardrails as a CrossGuard policy pack: ``pulumi preview --policy-pack policy``.

The policies live in ``keyless.policies`` (also run offline by ``keyless check``); this file only
hands them the policy SDK and starts the pack's server.
"""

import pulumi_policy

from keyless.policies.crossguard import serve

serve(pulumi_policy)
