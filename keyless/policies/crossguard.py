"""The policies as a CrossGuard pack: adapters from pulumi_policy's callbacks to :mod:`pack`.

The pack's entry point (``keyless/policies/serve.py``, a built pack's ``__main__.py``) passes the
``pulumi_policy`` module in; this module never imports it, so the package (and its tests) need no
policy SDK. The tests start a built pack and call it over gRPC.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from keyless.policies.pack import (
    ADVISORY,
    MANDATORY,
    POLICIES,
    STACK_POLICIES,
    Policy,
    Resource,
    StackPolicy,
    check_resource,
    check_stack,
)

PACK_NAME = "keyless-guardrails"


def resource_validation(policy: Policy) -> Any:
    """A ``ResourceValidation`` callback: ``(args, report_violation)`` as the policy server calls it."""

    def validate(args: Any, report_violation: Any) -> None:
        for message in check_resource(policy, args.resource_type, args.props, args.get_config()):
            report_violation(message, None)

    return validate


def stack_validation(policy: StackPolicy) -> Any:
    """A ``StackValidation`` callback over every resource of the stack."""

    def validate(args: Any, report_violation: Any) -> None:
        resources = [
            Resource(r.resource_type, r.name, r.props, r.parent.resource_type if r.parent is not None else "")
            for r in args.resources
        ]
        urns = {r.name: r.urn for r in args.resources}
        for name, message in check_stack(policy, resources, args.get_config()):
            report_violation(message, urns.get(name))

    return validate


def _schema(pp: ModuleType, config: dict[str, Any]) -> Any:
    if not config:
        return None
    properties = {key: {"type": "integer", "default": value} for key, value in config.items()}
    return pp.PolicyConfigSchema(properties=properties)


def policies(pp: ModuleType) -> list[Any]:
    """Every policy as a ``pulumi_policy`` object (constructing them starts nothing)."""
    level = {MANDATORY: pp.EnforcementLevel.MANDATORY, ADVISORY: pp.EnforcementLevel.ADVISORY}
    built: list[Any] = [
        pp.ResourceValidationPolicy(
            name=policy.name,
            description=policy.description,
            validate=resource_validation(policy),
            enforcement_level=level[policy.enforcement],
            config_schema=_schema(pp, dict(policy.config)),
        )
        for policy in POLICIES
    ]
    built += [
        pp.StackValidationPolicy(
            name=policy.name,
            description=policy.description,
            validate=stack_validation(policy),
            enforcement_level=level[policy.enforcement],
            config_schema=_schema(pp, dict(policy.config)),
        )
        for policy in STACK_POLICIES
    ]
    return built


def serve(pp: ModuleType) -> Any:
    """The pack itself: constructing a ``PolicyPack`` starts the policy server (``pulumi preview`` runs it)."""
    # No version here: PolicyPack takes none; it is in PulumiPolicy.yaml (see keyless.policies.build).
    return pp.PolicyPack(
        name=PACK_NAME,
        policies=policies(pp),
        enforcement_level=pp.EnforcementLevel.MANDATORY,
        description="Guardrails for keyless trust between Kubernetes workloads, Pulumi Cloud and cloud accounts.",
    )
