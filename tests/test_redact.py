"""The Scrubber: every form a secret takes in output is masked, and JSON stays JSON."""

from __future__ import annotations

import json

from slipway.redact import MASK, Scrubber


def test_a_value_is_masked_as_typed_percent_encoded_json_escaped_and_markup_escaped() -> None:
    s = Scrubber(['s3cr"et/[x]'])
    for shown in ['s3cr"et/[x]', "s3cr%22et%2F%5Bx%5D", 's3cr\\"et/[x]', 's3cr"et/\\[x]']:
        assert s.text(f"before {shown} after") == f"before {MASK} after", shown
    assert 'a s3cr"et/[x] b' in s  # a text holding a secret
    assert "nothing here" not in s


def test_a_database_url_masks_its_password_even_decoded() -> None:
    s = Scrubber()
    s.add_value("postgresql://app:Pa%2Fss-word@127.0.0.1:5432/appdb", "dsn")
    assert s.text("FATAL: password Pa/ss-word") == f"FATAL: password {MASK}"
    assert s.text("postgresql://app:Pa%2Fss-word@127.0.0.1:5432/appdb") == MASK
    assert (
        s.text("postgresql://app@127.0.0.1:5432/appdb") == "postgresql://app@127.0.0.1:5432/appdb"
    )


def test_a_webhook_url_masks_its_path_and_token() -> None:
    s = Scrubber()
    s.add_value("https://hooks.example.com/services/T000/B000/XXXXsecrettoken", "webhook")
    assert s.text("no hook at /services/T000/B000/XXXXsecrettoken") == f"no hook at {MASK}"
    assert s.text("token XXXXsecrettoken revoked") == f"token {MASK} revoked"


def test_a_conninfo_password_is_masked() -> None:
    s = Scrubber()
    s.add_value("host=db user=app password=hunter2-secret dbname=shop", "dsn")
    assert s.text("password hunter2-secret rejected") == f"password {MASK} rejected"


def test_short_values_are_not_secrets() -> None:
    s = Scrubber(["pw", "", "abc"])
    assert s.text("exit 1, pw, abc") == "exit 1, pw, abc"


def test_json_stays_valid_when_a_secret_holds_json_syntax() -> None:
    s = Scrubber(['1, "b'])
    text = json.dumps({"evidence": 'x 1, "b y', "list": [1, 2]}, sort_keys=True)
    assert json.loads(s.json_text(text)) == {"evidence": f"x {MASK} y", "list": [1, 2]}
    assert s.json_text('{"a": "clean"}') == '{"a": "clean"}'
    assert s.data({"k": ['1, "b']}) == {"k": [MASK]}
