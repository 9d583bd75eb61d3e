"""``window:``: when deploying is allowed (days, hours, time zone) and the freezes."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from slipway.spec.base import Model

HOURS = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class WindowRule(Model):
    """Days and hours (local to the window's time zone) when deploying is allowed."""

    days: list[Weekday] = Field(..., min_length=1)
    hours: str = Field("00:00-24:00", description="HH:MM-HH:MM, end excluded.")
    risk: Literal["low", "medium", "high"] | None = None

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        if not HOURS.fullmatch(value):
            raise ValueError("hours must look like 09:00-18:00")
        start, end = hours_range(value)
        if end <= start:
            raise ValueError("hours must end after they start (one day; 24:00 is midnight)")
        return value


def hours_range(value: str) -> tuple[int, int]:
    """``"09:30-18:00"`` → minutes since midnight (570, 1080)."""
    match = HOURS.fullmatch(value)
    if match is None:
        raise ValueError(value)
    a, b, c, d = (int(g) for g in match.groups())
    return a * 60 + b, c * 60 + d


class Freeze(Model):
    """A named period with no deployments (Black Friday, Christmas); dates are inclusive."""

    name: str = Field(..., min_length=1, max_length=80)
    start: date | datetime
    end: date | datetime
    reason: str | None = None

    @model_validator(mode="after")
    def _order(self) -> Freeze:
        if _as_datetime(self.end, end=True) < _as_datetime(self.start, end=False):
            raise ValueError("a freeze must end after it starts")
        return self


def _as_datetime(value: date | datetime, *, end: bool) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.combine(value, time.max if end else time.min)


class WindowSpec(Model):
    """When deploys may start. Outside it (or in a freeze) ``check`` says No-Go unless a person
    overrides it with a reason, which is recorded."""

    timezone: str = Field("UTC", description="IANA name, e.g. Europe/Paris.")
    allow: list[WindowRule] = Field(
        default_factory=lambda: [WindowRule(days=list(WEEKDAYS))],
        description="Open periods; outside every one the window is closed.",
    )
    freezes: list[Freeze] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value
