"""OFREP as bytes in, status and bytes out: the spec's answers and error codes."""

from __future__ import annotations

import json

import pytest

from slipway.flags.evaluation import Flag
from slipway.flags.ofrep import authorized, etag, evaluate_flag, evaluate_flags
from slipway.flags.source import Snapshot

SNAPSHOT = Snapshot(
    7,
    {
        "new-checkout": Flag("new-checkout", 30),
        "banner": Flag("banner", 100),
        "old": Flag("old", 40, enabled=False),
    },
)


def body(**context: object) -> bytes:
    return json.dumps({"context": context}).encode()


def test_one_flag_success() -> None:
    answer = evaluate_flag(SNAPSHOT, "banner", body(targetingKey="u1"))
    assert answer.status == 200 and answer.headers["content-type"] == "application/json"
    assert json.loads(answer.body) == {
        "key": "banner",
        "value": True,
        "reason": "STATIC",
        "variant": "on",
        "metadata": {"weight": 100, "revision": 7},
    }
    split = json.loads(evaluate_flag(SNAPSHOT, "new-checkout", body(targetingKey="u1")).body)
    assert split["reason"] == "SPLIT" and split["variant"] in ("on", "off")
    disabled = json.loads(evaluate_flag(SNAPSHOT, "old", body(targetingKey="u1")).body)
    assert (disabled["reason"], disabled["value"]) == ("DISABLED", False)


@pytest.mark.parametrize(
    ("key", "request_body", "status", "code"),
    [
        ("nope", body(targetingKey="u1"), 404, "FLAG_NOT_FOUND"),
        ("new-checkout", body(), 400, "TARGETING_KEY_MISSING"),
        ("new-checkout", b"{not json", 400, "PARSE_ERROR"),
        ("new-checkout", b"", 400, "PARSE_ERROR"),
        ("new-checkout", b"[1]", 400, "PARSE_ERROR"),
        ("new-checkout", b'{"context": 3}', 400, "INVALID_CONTEXT"),
        ("new-checkout", body(targetingKey=12), 400, "INVALID_CONTEXT"),
    ],
)
def test_one_flag_errors(key: str, request_body: bytes, status: int, code: str) -> None:
    answer = evaluate_flag(SNAPSHOT, key, request_body)
    payload = json.loads(answer.body)
    assert answer.status == status
    assert payload["key"] == key and payload["errorCode"] == code and payload["errorDetails"]


def test_a_body_without_context_is_an_empty_context() -> None:
    answer = evaluate_flag(SNAPSHOT, "banner", b"{}")  # what the Python provider sends
    assert answer.status == 200


def test_bulk_has_every_flag_an_etag_and_304_when_nothing_changed() -> None:
    answer = evaluate_flags(SNAPSHOT, body(targetingKey="u1"), if_none_match=None)
    payload = json.loads(answer.body)
    assert answer.status == 200 and payload["metadata"] == {"version": "7"}
    assert {item["key"] for item in payload["flags"]} == {"new-checkout", "banner", "old"}
    tag = answer.headers["etag"]
    assert tag == etag(SNAPSHOT, "u1") and tag.startswith('"7-')
    same = evaluate_flags(SNAPSHOT, body(targetingKey="u1"), if_none_match=tag)
    assert (same.status, same.body, same.headers["etag"]) == (304, b"", tag)
    assert evaluate_flags(SNAPSHOT, body(targetingKey="u1"), if_none_match=f"W/{tag}").status == 304
    # another user, or a change of any flag, is another tag
    assert evaluate_flags(SNAPSHOT, body(targetingKey="u2"), if_none_match=tag).status == 200
    changed = Snapshot(8, dict(SNAPSHOT.flags))
    assert evaluate_flags(changed, body(targetingKey="u1"), if_none_match=tag).status == 200


def test_bulk_reports_a_flag_it_cannot_evaluate_among_the_others() -> None:
    payload = json.loads(evaluate_flags(SNAPSHOT, b"{}", if_none_match=None).body)
    by_key = {item["key"]: item for item in payload["flags"]}
    assert by_key["new-checkout"]["errorCode"] == "TARGETING_KEY_MISSING"
    assert by_key["banner"]["value"] is True
    bad = evaluate_flags(SNAPSHOT, b'{"context": []}', if_none_match=None)
    assert bad.status == 400 and json.loads(bad.body)["errorCode"] == "INVALID_CONTEXT"


def test_tokens() -> None:
    assert authorized(None, {})
    assert authorized("s3cret-token", {"authorization": "Bearer s3cret-token"})
    assert authorized("s3cret-token", {"x-api-key": "s3cret-token"})
    assert not authorized("s3cret-token", {"authorization": "Bearer nope"})
    assert not authorized("s3cret-token", {})


def test_bulk_answers_encoded_from_cached_items_are_the_json_of_every_evaluation() -> None:
    """Items are encoded once per snapshot and result: every answer must still be exactly
    what encoding the whole payload gives, for every user and every kind of result."""
    snapshot = Snapshot(
        9,
        {
            "new-checkout": Flag("new-checkout", 30, on_for=frozenset({"alice"})),
            "banner": Flag("banner", 100),
            "old": Flag("old", 40, enabled=False),
            "dark": Flag("dark", 0),
        },
    )
    for who in ["alice", *(f"user-{i}" for i in range(200)), None]:
        context = {"targetingKey": who} if who is not None else {}
        answer = evaluate_flags(snapshot, body(**context), if_none_match=None)
        items = []
        for key in snapshot.flags:
            one = json.loads(evaluate_flag(snapshot, key, body(**context)).body)
            items.append(one)
        expected = {"flags": items, "metadata": {"version": "9"}}
        assert answer.body == json.dumps(expected, separators=(",", ":")).encode(), who
    assert len(snapshot.encoded) <= 4 * 5  # a few items per flag, not one per user
