"""The template's four acceptance criteria, each answered from records in the store."""

from __future__ import annotations

from slipway.runbook.criteria import acceptance
from slipway.runbook.facts import gather
from slipway.spec.checks import ManualPreflight
from slipway.spec.notify import ContactLevel
from slipway.store.records import Records
from tests.runbook.conftest import Setup
from tests.runbook.test_render import record


def by_number(setup: Setup) -> dict[int, object]:
    return {c.number: c for c in acceptance(gather(setup.env, setup.store))}


def test_nothing_recorded_misses_tests_and_rollback(setup: Setup) -> None:
    c = by_number(setup)
    assert not c[1].ok and c[1].evidence == "no successful deployment recorded"  # type: ignore[attr-defined]
    assert "slipway deploy --env production" in c[1].missing[0]  # type: ignore[attr-defined]
    assert not c[2].ok and "slipway drill --env production" in c[2].missing[0]  # type: ignore[attr-defined]
    assert c[3].ok and c[3].evidence == "3 contacts complete"  # type: ignore[attr-defined]
    assert c[4].ok  # type: ignore[attr-defined]


def test_a_success_counts_only_with_the_current_spec(setup: Setup) -> None:
    record(setup, version="v1", status="succeeded", previous=None, digest="sha256:0ld")
    c = by_number(setup)[1]
    assert not c.ok and "none with the current spec" in c.evidence  # type: ignore[attr-defined]
    dep = record(setup, version="v2", status="succeeded", previous="v1")
    c = by_number(setup)[1]
    assert c.ok and c.evidence.startswith(dep)  # type: ignore[attr-defined]


def test_the_last_measured_rollback_must_be_under_the_target(setup: Setup) -> None:
    record(setup, version="v2", status="rolled_back", previous="v1", rollback_s=412.0)
    c = by_number(setup)[2]
    assert not c.ok and "412.00s" in c.evidence  # type: ignore[attr-defined]
    Records(setup.store).add_drill(
        app="shop", environment="production", version="v3", back_to="v1", deploy_id="d",
        rollback_id="r", rollback_s=2.5, outcome="passed", spec_digest=None,
    )  # fmt: skip
    c = by_number(setup)[2]
    assert c.ok and c.evidence.startswith("2.50s (drill v3 → v1")  # type: ignore[attr-defined]


def test_incomplete_or_placeholder_contacts_are_named(setup: Setup) -> None:
    contacts = [
        ContactLevel.model_validate(
            {
                "level": 1,
                "contacts": [
                    {
                        "role": "DevOps lead",
                        "name": "CHANGE ME",
                        "phone": "+33 6 00 00 00 00",
                        "hours": "9h-19h",
                    },
                    {"role": "Lead dev", "name": "Thomas", "handle": "@thomas"},
                ],
            }
        )
    ]
    setup.env = setup.env.model_copy(update={"contacts": contacts})
    c = by_number(setup)[3]
    assert not c.ok  # type: ignore[attr-defined]
    assert c.missing == (  # type: ignore[attr-defined]
        "level 1 DevOps lead CHANGE ME: name, phone or handle",
        "level 1 Lead dev Thomas: hours",
    )
    setup.env = setup.env.model_copy(update={"contacts": []})
    assert by_number(setup)[3].evidence == "no contact listed"  # type: ignore[attr-defined]


def test_a_checklist_item_with_nobody_is_missing(setup: Setup) -> None:
    extra = ManualPreflight(type="manual", name="customer told")
    setup.env = setup.env.model_copy(update={"checks": [*setup.env.checks, extra]})
    c = by_number(setup)[4]
    assert not c.ok  # type: ignore[attr-defined]
    assert c.missing == ("customer told: give it an `owner:` or automate it",)  # type: ignore[attr-defined]
    assert "deploy window and 5 automated, 1 owned by a person" in c.evidence  # type: ignore[attr-defined]
