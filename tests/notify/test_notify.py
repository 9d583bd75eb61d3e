"""Notifications against a real HTTP receiver on loopback: payloads, retries with backoff on
the injected clock, failures recorded and never raised, URLs never leaked."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from slipway.clock import ManualClock
from slipway.notify.channels import slack_payload, webhook_payload
from slipway.notify.messages import build_message
from slipway.notify.sender import Notifier
from slipway.redact import SECRETS
from slipway.spec.notify import ContactLevel, NotificationSpec
from slipway.store import Store
from slipway.store.records import Records
from tests.notify.conftest import Receiver
from tests.support.sample import free_port_range

AT = datetime(2024, 2, 15, 14, 30, tzinfo=UTC)
CONTACTS = [
    ContactLevel.model_validate(
        {
            "level": 1,
            "title": "Technical team",
            "contacts": [
                {
                    "role": "DevOps Lead",
                    "name": "Antoine Moreau",
                    "phone": "+33 6 12",
                    "hours": "9h-19h",
                },
                {"role": "Lead Dev", "name": "Thomas Bernard", "handle": "@thomas"},
            ],
        }
    )
]


def message(event: str = "succeeded", **kw: object):  # type: ignore[no-untyped-def]
    values: dict[str, object] = {
        "app": "shop",
        "environment": "production",
        "deployment_id": "20240215-143000-abcdef",
        "version": "v1.2.3",
        "at": AT,
        "who": "@antoine",
        "commit_id": "abc1234",
        "previous_version": "v1.2.2",
        "changes": ["Nouvelle page checkout", "Fix bug panier mobile"],
        "duration_s": 42.0,
        "contacts": CONTACTS,
        **kw,
    }
    return build_message(event, **values)  # type: ignore[arg-type]


def channel(kind: str = "slack", **kw: object) -> NotificationSpec:
    return NotificationSpec.model_validate(
        {"type": kind, "url_env": "HOOK_URL", "backoff_s": 1, **kw}
    )


@pytest.fixture
def records(tmp_path: Path) -> Records:
    return Records(Store.for_state_dir(tmp_path / "state"))


def test_success_message_carries_the_seeds_table() -> None:
    m = message("succeeded")
    assert dict(m.fields) == {
        "Version": "v1.2.3",
        "Commit": "abc1234",
        "Time": "2024-02-15 14:30 UTC",
        "By": "@antoine",
        "Duration": "42.0s",
    }
    assert m.changes == ("Nouvelle page checkout", "Fix bug panier mobile")
    assert m.contacts == ()  # nobody needs calling on success


def test_rollback_message_has_the_reason_contacts_and_next_steps() -> None:
    m = message(
        "rolled_back", reason="5xx errors after deploying v1.2.3", rollback_s=1.8, changes=["x"]
    )
    fields = dict(m.fields)
    assert fields["Rolled back to"] == "v1.2.2" and fields["Rollback time"] == "1.8s"
    assert m.reason == "5xx errors after deploying v1.2.3"
    assert m.changes == ()
    assert "slipway logs 20240215-143000-abcdef" in m.next_steps[0]
    text = m.text()
    assert "level 1: DevOps Lead Antoine Moreau, +33 6 12 (9h-19h)" in text
    assert "level 1: Lead Dev Thomas Bernard, @thomas" in text


def test_waiting_for_approval_says_how_to_answer() -> None:
    m = message("waiting_for_approval", gate="Go/No-Go", reason="pre-flight passed")
    assert dict(m.fields)["Gate"] == "Go/No-Go"
    assert m.next_steps == (
        "`slipway approve 20240215-143000-abcdef` or `slipway reject 20240215-143000-abcdef`",
    )


def test_slack_and_webhook_shapes() -> None:
    m = message("failed", reason="health check failed on web-2")
    slack = slack_payload(m)
    assert slack["text"].startswith("🔴 Deployment failed: shop/production")
    assert slack["blocks"][0]["type"] == "header"
    assert {"type": "mrkdwn", "text": "*Version*\nv1.2.3"} in slack["blocks"][1]["fields"]
    texts = [b["text"]["text"] for b in slack["blocks"][2:]]
    assert texts[0] == "*Reason*\n• health check failed on web-2"
    assert any(t.startswith("*Escalation*") for t in texts)
    plain = webhook_payload(m)
    assert plain["event"] == "failed" and plain["fields"]["Commit"] == "abc1234"
    assert plain["contacts"][0]["contacts"][0]["name"] == "Antoine Moreau"


def test_delivered_to_a_real_receiver_and_recorded(receiver: Receiver, records: Records) -> None:
    notifier = Notifier(
        [channel("slack"), channel("webhook", name="ops hook", events=["failed"])],
        clock=ManualClock(),
        records=records,
        environ={"HOOK_URL": receiver.url()},
    )
    assert notifier.send(message("succeeded")) == 1  # the webhook only wants failures
    assert notifier.send(message("failed", reason="boom")) == 2
    assert notifier.flush(10)
    notifier.close()
    assert len(receiver.requests) == 3
    assert receiver.requests[0]["text"].startswith("✅ Deployment succeeded")
    assert {r.get("source") for r in receiver.requests} == {None, "slipway"}
    sent = records.notifications("20240215-143000-abcdef")
    assert [(n.channel, n.event, n.status, n.attempts) for n in sent] == [
        ("slack $HOOK_URL", "succeeded", "sent", 1),
        ("slack $HOOK_URL", "failed", "sent", 1),
        ("ops hook", "failed", "sent", 1),
    ]


def test_retries_with_doubling_backoff_on_the_clock(receiver: Receiver, records: Records) -> None:
    receiver.statuses = [500, 503]
    clock = ManualClock()
    notifier = Notifier(
        [channel(retries=3)], clock=clock, records=records, environ={"HOOK_URL": receiver.url()}
    )
    notifier.send(message())
    assert notifier.flush(10)
    assert len(receiver.requests) == 3
    assert clock.monotonic() == 1 + 2  # paused 1s, then 2s
    [n] = records.notifications("20240215-143000-abcdef")
    assert (n.status, n.attempts, n.error) == ("sent", 3, None)


def test_gives_up_after_the_retries_and_records_without_the_url(
    receiver: Receiver, records: Records
) -> None:
    receiver.statuses = [500] * 10
    clock = ManualClock()
    url = receiver.url()
    notifier = Notifier(
        [channel(retries=2)], clock=clock, records=records, environ={"HOOK_URL": url}
    )
    notifier.send(message())
    assert notifier.flush(10)
    assert len(receiver.requests) == 3 and clock.monotonic() == 1 + 2
    [n] = records.notifications("20240215-143000-abcdef")
    assert (n.status, n.attempts) == ("failed", 3)
    assert n.error == "HTTP 500: invalid_payload"


def test_a_client_error_is_not_retried(receiver: Receiver, records: Records) -> None:
    receiver.statuses = [400]
    notifier = Notifier(
        [channel(retries=3)],
        clock=ManualClock(),
        records=records,
        environ={"HOOK_URL": receiver.url()},
    )
    notifier.send(message())
    assert notifier.flush(10)
    assert len(receiver.requests) == 1
    assert records.notifications("20240215-143000-abcdef")[0].status == "failed"


def test_unreachable_and_unset_urls_fail_quietly_without_leaking(records: Records) -> None:
    port = free_port_range(1)  # nothing listens there
    secret_url = f"http://127.0.0.1:{port}/hooks/T000/B000/very-secret-token"
    notifier = Notifier(
        [channel(retries=1), channel("webhook", url_env="UNSET_HOOK")],
        clock=ManualClock(),
        records=records,
        environ={"HOOK_URL": secret_url},
    )
    notifier.send(message())
    assert notifier.flush(10)
    failed = {n.channel: n for n in records.notifications("20240215-143000-abcdef")}
    assert failed["slack $HOOK_URL"].status == "failed"
    assert failed["slack $HOOK_URL"].attempts == 2
    assert "ConnectError" in (failed["slack $HOOK_URL"].error or "")
    assert "very-secret-token" not in (failed["slack $HOOK_URL"].error or "")
    assert failed["webhook $UNSET_HOOK"].error == "$UNSET_HOOK is not set"


def test_an_error_body_that_echoes_the_secret_path_is_recorded_scrubbed(
    receiver: Receiver, records: Records
) -> None:
    receiver.statuses, receiver.echo_path = [404], True
    url = receiver.url("/hooks/T000/B000/echoed-token-4f9a")
    notifier = Notifier(
        [channel(retries=3)], clock=ManualClock(), records=records, environ={"HOOK_URL": url}
    )
    notifier.send(message())
    assert notifier.flush(10)
    assert receiver.paths == ["/hooks/T000/B000/echoed-token-4f9a"]  # it was really echoed
    [n] = records.notifications("20240215-143000-abcdef")
    assert n.status == "failed"
    assert n.error == "HTTP 404: no_service: no hook at ***"


def test_a_known_secret_in_a_message_is_never_sent(receiver: Receiver, records: Records) -> None:
    token = "tok-5b1e8c9d0a"
    notifier = Notifier(
        [channel(), channel("webhook", url_env="OTHER_HOOK")],
        clock=ManualClock(),
        records=records,
        environ={"HOOK_URL": receiver.url(), "OTHER_HOOK": receiver.url("/json")},
    )
    SECRETS.add(token)  # as the database URL's password or an `env` check marked secret is
    notifier.send(message("rolled_back", reason=f"health check answered {token}"))
    assert notifier.flush(10)
    assert len(receiver.requests) == 2
    for body in receiver.requests:
        assert token not in json.dumps(body)
        assert "health check answered ***" in json.dumps(body)
