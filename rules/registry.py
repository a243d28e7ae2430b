"""A rule and what it says about itself: `@rule(...)` puts its id, default mode, severity,
Korean title and the settings it reads on the rule function, whose docstring is the rule's
documentation. `rules/__init__.py` builds the registry, in the order of a run, from them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from rules.model import Finding, Lead, ObCall, Severity
from rules.settings import Mode

Scope = Literal["lead", "ob", "row", "customer", "desk"]
RuleFn = Callable[..., Any]  # (item, ctx[, edits]) -> findings; bot.note's see rules/notes.py
F = TypeVar("F", bound=RuleFn)


@dataclass(frozen=True)
class Rule:
    """One rule of RULES.md §4: its id, when it runs and how it speaks.

    `check` is called once per item of its `scope` (a lead, an OB row, a customer's leads, or
    the whole desk) with the `Context`; a change rule also gets its `Edits`. It returns (or
    yields) findings. The docstring of `check` is the rule's documentation.
    """

    id: str
    title: str  # Korean, one line: the heading alerts group its changes or findings under
    scope: Scope
    check: RuleFn
    default_mode: Mode
    changes: bool = False  # a change rule (writes cells) or a finding rule
    severity: Severity = Severity.ACTION
    settings: tuple[str, ...] = ()  # the config keys it reads (`section.key`)

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.check.__doc__ or "")

    @property
    def summary(self) -> str:
        """The docstring's first paragraph without the id: what the rule does, in a line."""
        return " ".join(self.doc.split("\n\n")[0].split()).split(" — ", 1)[-1]


_RULE_OF: dict[RuleFn, Rule] = {}


def rule(
    rule_id: str,
    *,
    mode: Mode,
    title: str,
    scope: Scope,
    changes: bool = False,
    severity: Severity = Severity.ACTION,
    settings: tuple[str, ...] = (),
) -> Callable[[F], F]:
    """Declare the decorated function the check of rule `rule_id` (see `Rule`)."""

    def declare(check: F) -> F:
        _RULE_OF[check] = Rule(rule_id, title, scope, check, mode, changes, severity, settings)
        return check

    return declare


def registered(*checks: RuleFn) -> tuple[Rule, ...]:
    """The rules the functions were declared the checks of with `@rule`, in this order."""
    return tuple(_RULE_OF[check] for check in checks)


def declared() -> tuple[Rule, ...]:
    """Every rule declared so far, registered or not (a test holds the registry to it)."""
    return tuple(_RULE_OF.values())


def finding(rule: str, lead: Lead, message: str, severity: Severity = Severity.ACTION) -> Finding:
    return Finding("leads", lead.row, rule, message, severity, lead.fingerprint)


def ob_finding(rule: str, ob: ObCall, message: str) -> Finding:
    return Finding("ob", ob.row, rule, message, Severity.ACTION, ob.fingerprint)
