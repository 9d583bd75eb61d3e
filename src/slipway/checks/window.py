"""The deploy window and the freeze calendar.

A window is a time zone, the periods when deploys may start (days of the week
and hours, local to that zone, so a rule follows daylight saving time), and
named freezes (Black Friday, Christmas) when they may not, whatever the day.
Freeze dates are whole local days, both ends included; a freeze given with
times is exact.

Closed means No-Go — unless a person overrides it, with a reason; the reason
and who gave it are recorded with the check run and the deployment. The
verdict also says when the window opens next, found by looking at each
period's start (and each freeze's end) over the coming year: a bounded search.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from slipway.checks.base import CheckResult
from slipway.clock import Clock
from slipway.errors import UsageError
from slipway.spec.window import WEEKDAYS, Freeze, WindowSpec, hours_range

LOOKAHEAD_DAYS = 400
MIN_REASON_CHARS = 10


@dataclass(frozen=True)
class WindowVerdict:
    open: bool
    local_time: datetime
    reason: str
    freeze: str | None = None
    next_open: datetime | None = None


@dataclass(frozen=True)
class WindowOverride:
    """A person's decision to deploy outside the window, and why."""

    reason: str
    who: str

    @classmethod
    def create(cls, reason: str, who: str) -> WindowOverride:
        reason = " ".join(reason.split())
        if len(reason) < MIN_REASON_CHARS:
            raise UsageError(
                "overriding the deploy window needs a reason",
                hint=f"say why in at least {MIN_REASON_CHARS} characters, e.g. "
                '--override-window "hotfix for the payment outage, approved by the CTO"',
            )
        return cls(reason=reason, who=who)


def evaluate(window: WindowSpec, now: datetime) -> WindowVerdict:
    """Is the window open at ``now`` (an aware datetime)? If not, why, and when next."""
    zone = ZoneInfo(window.timezone)
    local = now.astimezone(zone)
    frozen = _freeze_at(window, local)
    if frozen is not None:
        return WindowVerdict(
            open=False,
            local_time=local,
            reason=f"frozen: {frozen.name} ({_freeze_span(frozen)})",
            freeze=frozen.name,
            next_open=next_open(window, now),
        )
    rule = _rule_at(window, local)
    if rule is None:
        return WindowVerdict(
            open=False,
            local_time=local,
            reason=f"{_fmt(local)} is outside every allowed period",
            next_open=next_open(window, now),
        )
    return WindowVerdict(open=True, local_time=local, reason=f"{_fmt(local)} is within {rule}")


def is_open(window: WindowSpec, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(window.timezone))
    return _freeze_at(window, local) is None and _rule_at(window, local) is not None


def next_open(window: WindowSpec, now: datetime) -> datetime | None:
    """The first moment after ``now`` when the window is open, within ``LOOKAHEAD_DAYS``."""
    zone = ZoneInfo(window.timezone)
    local = now.astimezone(zone)
    candidates: list[datetime] = []
    for offset in range(LOOKAHEAD_DAYS + 1):
        day = local.date() + timedelta(days=offset)
        for rule in window.allow:
            if WEEKDAYS[day.weekday()] in rule.days:
                start, _ = hours_range(rule.hours)
                candidates.append(_at(day, start, zone))
    for freeze in window.freezes:
        candidates.append(_freeze_end(freeze, zone))
    for moment in sorted(c for c in candidates if c > now):
        if is_open(window, moment):
            return moment
    return None


class WindowCheck:
    """The deploy window is open now, or a person overrode it with a reason."""

    def __init__(
        self,
        window: WindowSpec,
        *,
        clock: Clock,
        override: WindowOverride | None = None,
        name: str = "deploy window",
    ) -> None:
        self.window = window
        self.clock = clock
        self.override = override
        self.name = name

    def probe(self) -> CheckResult:
        started = time.monotonic()
        verdict = evaluate(self.window, self.clock.now())
        zone = self.window.timezone
        if verdict.open:
            return CheckResult("pass", f"open: {verdict.reason} ({zone})", _since(started))
        closed = f"closed: {verdict.reason} ({zone})"
        if self.override is not None:
            evidence = f"{closed}; overridden by {self.override.who}: {self.override.reason}"
            return CheckResult("pass", evidence, _since(started))
        if verdict.next_open is not None:
            closed += f"; opens {_fmt(verdict.next_open.astimezone(ZoneInfo(zone)))}"
        return CheckResult("fail", closed, _since(started))


def describe_rule(days: list[str], hours: str) -> str:
    """``mon-thu 10:00-12:00`` for people (consecutive days folded)."""
    indexes = sorted(WEEKDAYS.index(d) for d in days)
    runs: list[list[int]] = []
    for i in indexes:
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    text = ",".join(
        WEEKDAYS[r[0]] if len(r) == 1 else f"{WEEKDAYS[r[0]]}-{WEEKDAYS[r[-1]]}" for r in runs
    )
    return f"{text} {hours}"


def _rule_at(window: WindowSpec, local: datetime) -> str | None:
    day = WEEKDAYS[local.weekday()]
    minute = local.hour * 60 + local.minute
    for rule in window.allow:
        start, end = hours_range(rule.hours)
        if day in rule.days and start <= minute < end:
            return describe_rule(list(rule.days), rule.hours)
    return None


def _freeze_at(window: WindowSpec, local: datetime) -> Freeze | None:
    zone = local.tzinfo
    assert isinstance(zone, ZoneInfo)
    for freeze in window.freezes:
        if _freeze_start(freeze, zone) <= local < _freeze_end(freeze, zone):
            return freeze
    return None


def _freeze_start(freeze: Freeze, zone: ZoneInfo) -> datetime:
    return _bound(freeze.start, zone, end=False)


def _freeze_end(freeze: Freeze, zone: ZoneInfo) -> datetime:
    """The first moment after the freeze (a date end means: through that whole day)."""
    return _bound(freeze.end, zone, end=True)


def _bound(value: date | datetime, zone: ZoneInfo, *, end: bool) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(zone) if value.tzinfo else value.replace(tzinfo=zone)
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, clock_time(0), tzinfo=zone)


def _freeze_span(freeze: Freeze) -> str:
    return f"{freeze.start} to {freeze.end}"


def _at(day: date, minute: int, zone: ZoneInfo) -> datetime:
    if minute >= 24 * 60:
        return datetime.combine(day + timedelta(days=1), clock_time(0), tzinfo=zone)
    return datetime.combine(day, clock_time(minute // 60, minute % 60), tzinfo=zone)


def _fmt(local: datetime) -> str:
    return f"{WEEKDAYS[local.weekday()]} {local:%Y-%m-%d %H:%M}"


def _since(started: float) -> float:
    return time.monotonic() - started
