"""Guardrails for keyless trust, for any stack: the same policies as a CrossGuard pack (``policy/``)
and offline (``keyless check``), each calling the rules in :mod:`keyless.core`.

A policy sees a resource as the policy server hands it: its type token and its inputs in wire
form (camelCase). Values unknown during a preview are :data:`~keyless.core.problems.UNKNOWN`:
a policy that meets one cannot judge yet, and reports nothing for it.
"""

from keyless.policies.pack import POLICIES, STACK_POLICIES, Policy, StackPolicy, check_resource, check_stack

__all__ = ["POLICIES", "STACK_POLICIES", "Policy", "StackPolicy", "check_resource", "check_stack"]
