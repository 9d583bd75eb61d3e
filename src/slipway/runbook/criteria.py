"""``slipway runbook --check``: the template's acceptance criteria, against evidence.

The seeds' template lists four criteria a person ticks by hand ("Manuel"):
the procedure was tested, the rollback takes under 5 minutes, the contacts
are up to date, the checklist is complete. Here each is answered from the
records, and a missing piece is named, so a pipeline can refuse to ship a
runbook nobody has run:

1. at least one successful deployment recorded with the *current* spec (its
   digest, not merely an older runbook that happened to work);
2. a rollback measured under ``runbook.rollback_max_s`` — the most recent
   measurement, from a drill, a ``slipway rollback`` or an automatic rollback;
3. every contact complete: a role, a name, a phone or a handle, hours, and no
   placeholder left from ``slipway init``;
4. every checklist item automated, or owned by someone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slipway.runbook.facts import NEXT, Facts, slipway_command
from slipway.spec.checks import ManualPreflight, preflight_name

PLACEHOLDERS = ("change me", "changeme", "todo", "tbd", "xxx", "[name]")


@dataclass(frozen=True)
class Criterion:
    number: int
    name: str
    ok: bool
    evidence: str
    missing: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "name": self.name,
            "ok": self.ok,
            "evidence": self.evidence,
            "missing": list(self.missing),
        }


def acceptance(facts: Facts) -> list[Criterion]:
    return [_tested(facts), _rollback(facts), _contacts(facts), _checklist(facts)]


def _tested(facts: Facts) -> Criterion:
    name = "procedure tested: a successful deployment with the current spec"
    good = [
        row
        for row in facts.history
        if row.deployment.status == "succeeded" and row.deployment.kind == "deploy"
    ]
    with_spec = [row for row in good if row.current_spec]
    if with_spec:
        d = with_spec[0].deployment
        return Criterion(1, name, True, f"{d.id}: {d.version} succeeded on {d.started_at}")
    command = slipway_command("deploy", facts.env, "--version", NEXT)
    why = (
        f"{len(good)} successful deployments, none with the current spec ({facts.digest})"
        if good
        else "no successful deployment recorded"
    )
    return Criterion(1, name, False, why, (f"deploy with this spec: `{command}`",))


def _rollback(facts: Facts) -> Criterion:
    target = facts.env.runbook.rollback_max_s
    name = f"rollback measured under {target:g}s"
    drill = slipway_command("drill", facts.env, "--version", NEXT)
    if not facts.rollbacks:
        return Criterion(2, name, False, "no rollback measured", (f"measure one: `{drill}`",))
    last = facts.rollbacks[0]
    evidence = f"{last.seconds:.2f}s ({last.source} {last.reference}, {last.at})"
    if last.seconds < target:
        return Criterion(2, name, True, evidence)
    return Criterion(
        2,
        name,
        False,
        f"the last rollback took {evidence}",
        (f"make the rollback faster than {target:g}s, then `{drill}`",),
    )


def _contacts(facts: Facts) -> Criterion:
    name = "contacts up to date: role, name, phone or handle, hours"
    missing = []
    people = 0
    for level in facts.env.contacts:
        for c in level.contacts:
            people += 1
            who = f"level {level.level} {c.role or '?'} {c.name or '?'}"
            gaps = [
                label
                for label, value in (("role", c.role), ("name", c.name), ("hours", c.hours))
                if not value or _placeholder(value)
            ]
            if not (c.phone or c.handle) or any(_placeholder(v) for v in (c.phone, c.handle) if v):
                gaps.append("phone or handle")
            if gaps:
                missing.append(f"{who}: {', '.join(gaps)}")
    if people == 0:
        return Criterion(3, name, False, "no contact listed", ("add `contacts:` to the spec",))
    if missing:
        return Criterion(3, name, False, f"{len(missing)} of {people} incomplete", tuple(missing))
    return Criterion(3, name, True, f"{people} contacts complete")


def _placeholder(value: str) -> bool:
    text = value.strip().lower()
    return any(p in text for p in PLACEHOLDERS) or "00 00 00 00" in text


def _checklist(facts: Facts) -> Criterion:
    name = "checklist complete: every item automated or owned"
    items = facts.env.checks
    unowned = [preflight_name(c) for c in items if isinstance(c, ManualPreflight) and not c.owner]
    automated = sum(1 for c in items if not isinstance(c, ManualPreflight))
    owned = len(items) - automated - len(unowned)
    evidence = f"{automated} automated, {owned} owned by a person"
    if facts.env.window is not None:
        evidence = f"deploy window and {evidence}"
    if not items and facts.env.window is None:
        return Criterion(4, name, False, "no checklist", ("add `checks:` to the spec",))
    if unowned:
        missing = tuple(f"{n}: give it an `owner:` or automate it" for n in unowned)
        return Criterion(4, name, False, f"{evidence}; {len(unowned)} with nobody", missing)
    return Criterion(4, name, True, evidence)
