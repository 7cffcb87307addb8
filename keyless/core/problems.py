"""How every rule reports: a :class:`Problem` names the key, the value and what is accepted.

Rules return lists of problems instead of raising, so the stack config, the components, the
doctor and the policy pack all report the same mistake in the same words. Whoever acts on the
problems decides whether to raise (:func:`raise_problems`), print or collect them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi


class _Sentinel:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Sentinel("MISSING")
"""A key that was not given at all."""
UNKNOWN: Any = _Sentinel("UNKNOWN")
"""A value that is not known yet (an unresolved Output, an unknown in a policy check)."""


@dataclass(frozen=True)
class Problem:
    """One broken rule: ``<key>: <value> <reason>; expected <accepted>``."""

    key: str
    value: Any
    reason: str
    accepted: str = ""

    def __str__(self) -> str:
        shown = "" if self.value is MISSING else f"{self.value!r} "
        expected = f"; expected {self.accepted}" if self.accepted else ""
        prefix = f"{self.key}: " if self.key else ""
        return f"{prefix}{shown}{self.reason}{expected}"

    def masked(self, secrets: Iterable[str]) -> Problem:
        """The same problem with each secret value in its text replaced by ``[secret]``."""
        text = str(self).removeprefix(f"{self.key}: ")
        for secret in sorted((s for s in secrets if s), key=len, reverse=True):
            text = text.replace(secret, "[secret]")
        return Problem(self.key, MISSING, text)


def missing(key: str, accepted: str = "") -> Problem:
    return Problem(key, MISSING, "missing", accepted) if accepted else Problem(key, MISSING, "missing; it is required")


class InvalidArgumentError(pulumi.RunError, ValueError):
    """An argument or config value broke a rule; the message lists every problem.

    Subclassing :class:`pulumi.RunError` makes the Pulumi language host print only this message,
    without a Python traceback.
    """

    def __init__(self, problems: Sequence[Problem] | str, heading: str | None = None) -> None:
        self.problems: list[Problem] = [Problem("", MISSING, problems)] if isinstance(problems, str) else list(problems)
        lines = [str(problem) for problem in self.problems]
        if heading is None and len(lines) == 1:
            message = lines[0]
        else:
            noun = "problem" if len(lines) == 1 else "problems"
            head = heading or "Invalid arguments"
            message = f"{head} ({len(lines)} {noun}):\n" + "\n".join(f"  - {line}" for line in lines)
        super().__init__(message)


def raise_problems(problems: Sequence[Problem], heading: str | None = None) -> None:
    """Raise :class:`InvalidArgumentError` listing ``problems``, if there are any."""
    if problems:
        raise InvalidArgumentError(problems, heading)
