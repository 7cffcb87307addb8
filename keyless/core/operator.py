"""Pulumi Kubernetes Operator stacks (v2.9.0) with no token: the workspace pod logs in with its own
service account's projected token, kept fresh by the keyless refresher as a native sidecar.

The Operator injects ``accessTokenSecret`` as ``PULUMI_ACCESS_TOKEN`` and has no OIDC option (its
issue #697), so a keyless ``Stack`` sets neither: the workspace's ``podTemplate`` (merged into the
Operator's StatefulSet, whose own ``bootstrap`` and ``fetch`` init containers it keeps) adds the
refresher, the credentials folder the ``pulumi`` container reads (``PULUMI_CREDENTIALS_PATH``) and
the pod's ``fsGroup``. The workspace's first Pulumi Cloud call selects (or creates) the stack, and
a failure there marks the Workspace stalled until the Stack's spec changes (Operator PR #1107), so
the sidecar's startup probe holds the ``pulumi`` container until the first login has succeeded.

A CLI process keeps the token it started with: the exchanged token must outlive the longest
update. With renewal at a share of the lifetime, a command started just before a renewal holds a
token with the rest of it, so ``lifetime × (100 − refresh percent) / 100`` must cover it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keyless.core.login_job import LOGIN_JOB
from keyless.core.problems import MISSING, Problem
from keyless.core.pulumi_cloud import DEFAULT_MAX_EXPIRATION_SECONDS, token_lifetime
from keyless.core.spec import Field, Keys, Spec, required
from keyless.core.values import (
    boolean,
    dns1123_label,
    duration,
    duration_seconds,
    int_range,
    list_of,
    pattern,
    pinned_image,
    text,
    text_map,
)

API_VERSION = "pulumi.com/v1"
DEFAULT_OPERATOR_NAMESPACE = "pulumi-kubernetes-operator"
"""Where Pulumi's installation guide puts the Operator (``helm install -n pulumi-kubernetes-operator``)."""
WORKSPACE_UID = 1000
"""The workspace pod's UID and GID under the Operator's ``restricted`` security profile."""
DEFAULT_WORKSPACE_IMAGE = "pulumi/pulumi:3.272.0-nonroot"
"""Pinned: the Operator's default is ``pulumi/pulumi:latest-nonroot``."""
DEFAULT_LIFETIME = "2h"
DEFAULT_LONGEST_UPDATE = "45m"
DEFAULT_REFRESH_PERCENT = 50
MIN_REFRESH_PERCENT = 10
DEFAULT_RESYNC_SECONDS = 300


git_url = pattern(
    r"(https://|ssh://|git@)[^\s]+",
    "a Git repository URL fetched over an authenticated channel",
    "https://…, ssh://… or git@host:path (not http://, whose content anyone on the path can change, nor "
    "file://, which reads the workspace pod's own disk)",
)


def _one_source(values: Mapping[str, Any], keys: Keys) -> list[Problem]:
    given = [name for name in ("project_repo", "program_ref") if values.get(name) is not None]
    if len(given) != 1:
        return [
            Problem(
                keys.here,
                MISSING,
                f"names {' and '.join(keys.names(given)) or 'no source'}",
                f"exactly one of {keys.name('project_repo')} (with {keys.name('branch')} or {keys.name('commit')}) "
                f"or {keys.name('program_ref')}",
            )
        ]
    if values.get("project_repo") is not None and (values.get("branch") is None) == (values.get("commit") is None):
        return [Problem(keys.of("project_repo"), MISSING, "needs exactly one of branch or commit")]
    return []


def _lifetime_covers_the_longest_update(values: Mapping[str, Any], keys: Keys) -> list[Problem]:
    lifetime = duration_seconds(values.get("exchanged_token_lifetime"))
    longest = duration_seconds(values.get("longest_update"))
    percent = values.get("refresh_percent")
    if lifetime is None or longest is None or not isinstance(percent, int):
        return []
    covered = lifetime * (100 - percent) // 100
    if covered >= longest:
        return []
    return [
        Problem(
            keys.of("exchanged_token_lifetime"),
            values.get("exchanged_token_lifetime"),
            f"leaves an update started just before a renewal {covered}s of token, less than "
            f"{keys.name('longest_update')} ({longest}s): a CLI keeps the token it started with",
            _what_covers(longest, lifetime, percent, keys),
        )
    ]


def _what_covers(longest: int, lifetime: int, percent: int, keys: Keys) -> str:
    """The change that would cover the update, within what an issuer here grants (at most
    :data:`DEFAULT_MAX_EXPIRATION_SECONDS`): a longer lifetime, else an earlier renewal."""
    needed = -(-longest * 100 // (100 - percent))
    if needed <= DEFAULT_MAX_EXPIRATION_SECONDS:
        return f"a lifetime of at least {needed}s, or a lower {keys.name('refresh_percent')}"
    for seconds in (lifetime, DEFAULT_MAX_EXPIRATION_SECONDS):
        earliest = 100 - -(-longest * 100 // seconds)
        if earliest >= MIN_REFRESH_PERCENT:
            return (
                f"{keys.name('refresh_percent')} at most {earliest} with a lifetime of {seconds}s (a lifetime "
                f"of {needed}s is more than an issuer grants, {DEFAULT_MAX_EXPIRATION_SECONDS}s)"
            )
    return (
        f"a {keys.name('longest_update')} of at most {DEFAULT_MAX_EXPIRATION_SECONDS * (100 - MIN_REFRESH_PERCENT) // 100}"
        "s: no token an issuer grants outlives a longer update (split the update)"
    )


_LOGIN = LOGIN_JOB.only("organization", "token_type", "team_name", "user_login")

OPERATOR_STACK = Spec(
    "KeylessOperatorStack",
    {
        **_LOGIN.fields,
        "namespace": required(dns1123_label),
        "name": required(dns1123_label),
        "service_account_name": required(dns1123_label),
        "stack": required(text),
        "project_repo": Field(git_url),
        "branch": Field(text),
        "commit": Field(text),
        "repo_dir": Field(text),
        "program_ref": Field(dns1123_label),
        "config": Field(text_map, kind="map"),
        "environment": Field(list_of(text), (), "list"),
        "resync_frequency_seconds": Field(int_range(60, 86_400), DEFAULT_RESYNC_SECONDS, "int"),
        "refresh": Field(boolean, True, "bool"),
        "destroy_on_finalize": Field(boolean, False, "bool"),
        "workspace_image": Field(pinned_image, DEFAULT_WORKSPACE_IMAGE),
        "exchanged_token_lifetime": Field(token_lifetime, DEFAULT_LIFETIME),
        "longest_update": Field(duration, DEFAULT_LONGEST_UPDATE),
        "refresh_percent": Field(int_range(MIN_REFRESH_PERCENT, 90), DEFAULT_REFRESH_PERCENT, "int"),
        "pod_labels": Field(kind="map"),
    },
    (*_LOGIN.rules, _one_source, _lifetime_covers_the_longest_update),
)
"""A keyless Operator ``Stack``: its source, its options, and how long its token must last."""


def stack_spec(values: Mapping[str, Any], pod_template: Mapping[str, Any]) -> dict[str, Any]:
    """The ``Stack``'s spec (wire form): no ``accessTokenSecret``, no token in ``envRefs``."""
    spec: dict[str, Any] = {
        "stack": values["stack"],
        "serviceAccountName": values["service_account_name"],
        "resyncFrequencySeconds": values["resync_frequency_seconds"],
        "refresh": values["refresh"],
        "destroyOnFinalize": values["destroy_on_finalize"],
        "workspaceTemplate": {
            "spec": {
                "image": values["workspace_image"],
                "securityProfile": "restricted",
                "podTemplate": dict(pod_template),
            }
        },
    }
    if values.get("program_ref") is not None:
        spec["programRef"] = {"name": values["program_ref"]}
    else:
        spec["projectRepo"] = values["project_repo"]
        spec.update({name: values[name] for name in ("branch", "commit") if values.get(name)})
    if values.get("repo_dir"):
        spec["repoDir"] = values["repo_dir"]
    if values.get("config"):
        spec["config"] = dict(values["config"])
    if values.get("environment"):
        spec["environment"] = list(values["environment"])
    return spec


def workspace_pod_template(
    init_containers: list[dict[str, Any]],
    volumes: list[dict[str, Any]],
    app_env: list[dict[str, Any]],
    app_mounts: list[dict[str, Any]],
    pod_security: Mapping[str, Any],
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """What the ``podTemplate`` adds to the Operator's workspace pod: the refresher as a native
    sidecar, its volumes, the ``fsGroup``, and the ``pulumi`` container's credentials folder (the
    Operator merges containers by name and keeps its own init containers), and the labels an
    identity needs on the pod."""
    return {
        **({"metadata": {"labels": dict(labels)}} if labels else {}),
        "spec": {
            "securityContext": dict(pod_security),
            "initContainers": init_containers,
            "containers": [{"name": "pulumi", "env": app_env, "volumeMounts": app_mounts}],
            "volumes": volumes,
        },
    }
