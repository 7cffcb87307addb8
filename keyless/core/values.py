"""Rules about single values that every part of the domain uses: names, numbers, choices, URLs.

Each rule is ``rule(key, value) -> list[Problem]``: empty when the value is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import Enum
from typing import Any

from keyless.core.problems import MISSING, Problem

Rule = Callable[[str, Any], list[Problem]]

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_IMAGE_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_IMAGE_TAG = re.compile(r":([\w][\w.-]{0,127})$")
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def text(key: str, value: Any) -> list[Problem]:
    if not isinstance(value, str):
        return [Problem(key, value, "is not text", 'a string (in YAML, quote values such as "1.33")')]
    if not value.strip():
        return [Problem(key, value, "is empty", "a non-empty string")]
    return []


def text_map(key: str, value: Any) -> list[Problem]:
    """A map of text keys to text values (in YAML, quote values such as "1.33")."""
    if not isinstance(value, Mapping):
        return [Problem(key, value, "is not accepted", "a map of names to text values")]
    problems = []
    for name, item in value.items():
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem(key, name, "is not a key name", "non-empty text"))
        elif not isinstance(item, str):
            problems.append(
                Problem(f"{key}.{name}", item, "is not text", 'a string (in YAML, quote values such as "1.33")')
            )
    return problems


def identifier(key: str, value: Any) -> list[Problem]:
    """A name or id whose exact shape Pulumi Cloud does not document (a team, a user, a role or
    runner id): refused only when it cannot be one, i.e. empty or holding white space."""
    problems = text(key, value)
    if not problems and any(c.isspace() or not c.isprintable() for c in value):
        problems = [Problem(key, value, "holds white space", "a name or id without spaces")]
    return problems


def dns1123_label(key: str, value: Any) -> list[Problem]:
    if not isinstance(value, str) or len(value) > 63 or not DNS1123_LABEL.match(value):
        return [
            Problem(
                key,
                value,
                "is not a valid Kubernetes name",
                "a DNS-1123 label: 1-63 characters of lower-case letters, digits and '-', "
                "starting and ending with a letter or digit",
            )
        ]
    return []


def boolean(key: str, value: Any) -> list[Problem]:
    return [] if isinstance(value, bool) else [Problem(key, value, "is not accepted", "true or false")]


def int_range(minimum: int, maximum: int | None = None) -> Rule:
    accepted = f"an integer >= {minimum}" if maximum is None else f"an integer from {minimum} to {maximum}"

    def rule(key: str, value: Any) -> list[Problem]:
        if isinstance(value, bool) or not isinstance(value, int):
            return [Problem(key, value, "is not a whole number", accepted)]
        if value < minimum or (maximum is not None and value > maximum):
            return [Problem(key, value, "is out of range", accepted)]
        return []

    return rule


def choices(accepted: type[Enum] | Iterable[str]) -> list[str]:
    if isinstance(accepted, type) and issubclass(accepted, Enum):
        return [str(member.value) for member in accepted]
    return list(accepted)


def choice(accepted: type[Enum] | Iterable[str]) -> Rule:
    """One of a closed set; a ``str`` enum's members and their values are both accepted."""
    names = choices(accepted)

    def rule(key: str, value: Any) -> list[Problem]:
        plain = value.value if isinstance(value, Enum) else value
        if plain not in names:
            return [Problem(key, value, "is not accepted", f"one of: {', '.join(names)}")]
        return []

    return rule


def pattern(regex: str, what: str, accepted: str) -> Rule:
    """Text matching ``regex`` (anchored), else ``is not <what>; expected <accepted>``."""
    compiled = re.compile(regex)

    def rule(key: str, value: Any) -> list[Problem]:
        if not isinstance(value, str):
            return text(key, value)
        if not compiled.fullmatch(value):
            return [Problem(key, value, f"is not {what}", accepted)]
        return []

    return rule


def pinned_image(key: str, value: Any) -> list[Problem]:
    """``repo:tag`` with a tag other than ``latest`` (or a ``latest-…`` variant such as Pulumi's
    ``latest-nonroot``, which floats as well), or ``repo@sha256:<digest>``."""
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        return [
            Problem(
                key,
                value,
                "is not an image reference",
                "'repository:version' or 'repository@sha256:<64 hex digits>'",
            )
        ]
    if _IMAGE_DIGEST.search(value):
        return []
    tag = _IMAGE_TAG.search(value.rsplit("/", 1)[-1])
    if tag is None or tag.group(1) == "latest" or tag.group(1).startswith("latest-"):
        return [
            Problem(
                key,
                value,
                "is not pinned",
                "a version tag other than 'latest' (for example 'pulumi/pulumi-base:3.272.0') or a digest "
                "('pulumi/pulumi-base@sha256:<64 hex digits>')",
            )
        ]
    return []


def https_url(key: str, value: Any) -> list[Problem]:
    """An ``https://`` URL of an API: no trailing slash, query, fragment or white space."""
    if (
        not isinstance(value, str)
        or not value.startswith("https://")
        or len(value) <= len("https://")
        or value.endswith("/")
        or any(c in value for c in "?#")
        or any(c.isspace() for c in value)
    ):
        return [Problem(key, value, "is not accepted", "an https:// URL without a trailing slash")]
    return []


def duration_seconds(value: Any) -> int | None:
    """Seconds in a duration such as ``90m``, ``2h`` or ``1h30m``; None when it is not one."""
    match = _DURATION.match(value) if isinstance(value, str) and value else None
    if match is None or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def duration(key: str, value: Any) -> list[Problem]:
    if duration_seconds(value) is None:
        return [
            Problem(key, value, "is not a duration", "hours, minutes and/or seconds such as '15m', '2h' or '1h30m'")
        ]
    return []


def list_of(item: Rule, *, allow_empty: bool = True) -> Rule:
    """A list whose items each pass ``item`` and appear once."""

    def rule(key: str, value: Any) -> list[Problem]:
        if not isinstance(value, (list, tuple)) or (not value and not allow_empty):
            return [Problem(key, value, "is not accepted", "a non-empty list" if not allow_empty else "a list")]
        problems = [problem for index, entry in enumerate(value) for problem in item(f"{key}[{index}]", entry)]
        if not problems and len(set(map(str, value))) != len(value):
            problems.append(Problem(key, list(value), "repeats an item", "each once"))
        return problems

    return rule


def first(*rules: Rule) -> Rule:
    """The problems of the first rule that has any (later rules may assume earlier ones passed)."""

    def rule(key: str, value: Any) -> list[Problem]:
        for each in rules:
            problems = each(key, value)
            if problems:
                return problems
        return []

    return rule


def repeated(items: Sequence[tuple[str, Any]], what: str, accepted: str = "each once") -> list[Problem]:
    """One problem per ``(key, identity)`` item whose identity an earlier item already has."""
    seen: dict[Any, str] = {}
    problems = []
    for key, identity in items:
        if identity in seen:
            problems.append(Problem(key, MISSING, f"{what} {identity} repeats {seen[identity]}", accepted))
        seen.setdefault(identity, key)
    return problems
