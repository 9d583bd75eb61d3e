"""The deploy window and freeze calendar, at exact instants (a ManualClock), across DST."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from slipway.checks.window import WindowCheck, WindowOverride, evaluate, next_open
from slipway.clock import ManualClock
from slipway.errors import UsageError
from slipway.spec.window import WindowSpec

PARIS = ZoneInfo("Europe/Paris")

# The seeds: Tuesday to Thursday, Monday afternoon, Friday morning only; never the weekend;
# Black Friday and Christmas frozen.
SEEDS = WindowSpec.model_validate(
    {
        "timezone": "Europe/Paris",
        "allow": [
            {"days": ["tue", "wed", "thu"], "hours": "10:00-16:00", "risk": "low"},
            {"days": ["mon"], "hours": "14:00-16:00", "risk": "medium"},
            {"days": ["fri"], "hours": "09:00-14:00", "risk": "high"},
        ],
        "freezes": [
            {"name": "Black Friday", "start": "2026-11-26", "end": "2026-11-30"},
            {"name": "Noël", "start": "2026-12-20", "end": "2027-01-03"},
            {"name": "campaign launch", "start": "2026-10-06T12:00", "end": "2026-10-06T15:30"},
        ],
    }
)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("moment", "is_open", "words"),
    [
        (paris(2026, 10, 13, 10, 0), True, "tue-thu 10:00-16:00"),  # Tuesday, opening minute
        (paris(2026, 10, 13, 15, 59), True, "tue-thu"),
        (paris(2026, 10, 13, 16, 0), False, "outside every allowed period"),  # end excluded
        (paris(2026, 10, 12, 11, 0), False, "outside"),  # Monday morning
        (paris(2026, 10, 12, 14, 30), True, "mon 14:00-16:00"),
        (paris(2026, 10, 16, 13, 59), True, "fri 09:00-14:00"),
        (paris(2026, 10, 16, 14, 0), False, "fri 2026-10-16 14:00"),  # Friday afternoon
        (paris(2026, 10, 17, 11, 0), False, "sat"),  # weekend
        (paris(2026, 10, 18, 11, 0), False, "sun"),
        (paris(2026, 10, 6, 12, 0), False, "frozen: campaign launch"),  # exact freeze
        (paris(2026, 10, 6, 15, 30), True, "tue-thu"),  # freeze over
        (paris(2026, 11, 26, 10, 0), False, "frozen: Black Friday"),  # first day
        (paris(2026, 11, 30, 15, 0), False, "frozen: Black Friday"),  # last day included
        (paris(2026, 12, 1, 10, 0), True, "tue-thu"),  # day after
        (paris(2026, 12, 22, 11, 0), False, "frozen: Noël"),
    ],
)
def test_window_rules_and_freezes(moment: datetime, is_open: bool, words: str) -> None:
    verdict = evaluate(SEEDS, moment)
    assert verdict.open is is_open
    assert words in verdict.reason


def test_the_window_is_read_in_its_own_time_zone() -> None:
    # 08:30 UTC on a winter Tuesday is 09:30 in Paris (closed); 09:00 UTC is 10:00 (open)
    assert not evaluate(SEEDS, datetime(2026, 1, 13, 8, 30, tzinfo=UTC)).open
    assert evaluate(SEEDS, datetime(2026, 1, 13, 9, 0, tzinfo=UTC)).open
    # in summer Paris is UTC+2: 08:00 UTC is already 10:00 there
    assert evaluate(SEEDS, datetime(2026, 7, 14, 8, 0, tzinfo=UTC)).open
    assert not evaluate(SEEDS, datetime(2026, 7, 14, 7, 59, tzinfo=UTC)).open


def test_next_open_skips_the_weekend_and_freezes() -> None:
    friday_afternoon = paris(2026, 10, 16, 15, 0)
    assert next_open(SEEDS, friday_afternoon) == paris(2026, 10, 19, 14, 0)  # Monday 14:00
    in_black_friday = paris(2026, 11, 27, 10, 0)
    assert next_open(SEEDS, in_black_friday) == paris(2026, 12, 1, 10, 0)
    in_christmas = paris(2026, 12, 24, 10, 0)
    assert next_open(SEEDS, in_christmas) == paris(2027, 1, 4, 14, 0)  # a Monday
    campaign = paris(2026, 10, 6, 13, 0)
    assert next_open(SEEDS, campaign) == paris(2026, 10, 6, 15, 30)  # a freeze's end


def test_next_open_across_the_dst_change() -> None:
    # Saturday 2026-10-24 -> Monday 2026-10-26 14:00, after clocks went back on Sunday
    moment = paris(2026, 10, 24, 12, 0)
    found = next_open(SEEDS, moment)
    assert found == paris(2026, 10, 26, 14, 0)
    assert found is not None and found.utcoffset() is not None
    assert found.astimezone(UTC).hour == 13  # UTC+1 after the change


def test_a_window_that_never_opens_has_no_next_opening() -> None:
    never = WindowSpec.model_validate(
        {
            "allow": [{"days": ["mon"]}],
            "freezes": [{"name": "all", "start": "2026-01-01", "end": "2028-01-01"}],
        }
    )
    verdict = evaluate(never, datetime(2026, 3, 2, 10, tzinfo=UTC))
    assert not verdict.open
    assert verdict.next_open is None


def test_check_fails_closed_and_says_when_it_opens() -> None:
    clock = ManualClock(start=paris(2026, 10, 16, 15, 0).astimezone(UTC))
    result = WindowCheck(SEEDS, clock=clock).probe()
    assert result.status == "fail"
    assert "closed" in result.evidence
    assert "opens mon 2026-10-19 14:00" in result.evidence
    clock.sleep(3 * 86400 - 3600)  # Monday 14:00
    assert WindowCheck(SEEDS, clock=clock).probe().status == "pass"


def test_override_opens_a_closed_window_and_keeps_the_reason() -> None:
    clock = ManualClock(start=paris(2026, 10, 17, 11, 0).astimezone(UTC))
    override = WindowOverride.create("  payment outage:   hotfix approved by the CTO ", who="alice")
    result = WindowCheck(SEEDS, clock=clock, override=override).probe()
    assert result.status == "pass"
    assert "closed" in result.evidence
    assert "overridden by alice: payment outage: hotfix approved by the CTO" in result.evidence


@pytest.mark.parametrize("reason", ["", "   ", "because"])
def test_an_override_needs_a_reason(reason: str) -> None:
    with pytest.raises(UsageError, match="needs a reason"):
        WindowOverride.create(reason, who="alice")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"allow": [{"days": ["mon"], "hours": "18:00-09:00"}]}, "end after they start"),
        ({"allow": [{"days": ["mon"], "hours": "9-18"}]}, "09:00-18:00"),
        ({"allow": [{"days": ["monday"]}]}, "mon"),
        ({"freezes": [{"name": "x", "start": "2026-02-01", "end": "2026-01-01"}]}, "end after"),
    ],
)
def test_bad_windows_are_rejected(data: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        WindowSpec.model_validate(data)
