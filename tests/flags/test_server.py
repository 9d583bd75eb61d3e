"""The flag server for real: uvicorn on loopback, the store behind it, and the real
OpenFeature SDK with its OFREP provider — and flagd's own provider reading the flag file —
as clients."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.contrib.provider.flagd import FlagdProvider
from openfeature.contrib.provider.flagd.config import ResolverType
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode

from slipway.flags import StoreFlags, bucket
from slipway.flags.backend import flagd_path
from slipway.flags.server import FlagServer, ofrep_app, source_for
from slipway.spec import load_spec
from slipway.spec.environment import Environment
from slipway.store import Store
from tests.support.sample import free_port_range, write_sample_spec


class Served:
    def __init__(self, env: Environment, store: Store, server: FlagServer) -> None:
        self.env, self.store, self.server = env, store, server
        self.flags = StoreFlags(env, store)

    def client(self, **provider: object) -> OpenFeatureClient:
        """An OpenFeature client of its own domain, on the OFREP provider."""
        domain = f"test-{uuid.uuid4().hex}"
        api.set_provider(OFREPProvider(self.server.url, **provider), domain=domain)  # type: ignore[arg-type]
        return api.get_client(domain)

    def wait_revision(self, revision: int) -> None:
        deadline = time.monotonic() + 10
        source_revision = -1
        while time.monotonic() < deadline:
            answer = httpx.post(
                f"{self.server.url}/ofrep/v1/evaluate/flags",
                json={"context": {"targetingKey": "probe"}},
                headers=self.headers(),
                trust_env=False,
            )
            source_revision = int(answer.json()["metadata"]["version"])
            if source_revision >= revision:
                return
            time.sleep(0.01)
        raise AssertionError(f"still serving revision {source_revision}")

    def headers(self) -> dict[str, str]:
        return {}


def serve(tmp_path: Path, *, token: str | None = None) -> Iterator[Served]:
    port = free_port_range(1)
    spec = write_sample_spec(tmp_path, extra=f"    flags: {{listen: 127.0.0.1:{port}}}\n")
    env = load_spec(spec).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    app = ofrep_app(source_for(env, store), token=token)
    try:
        with FlagServer(app, host="127.0.0.1", port=port) as server:
            yield Served(env, store, server)
    finally:
        api.clear_providers()
        store.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from serve(tmp_path)


def test_the_sdk_gets_each_users_bucket_and_the_reason(served: Served) -> None:
    flag = served.flags.set_weight("new-checkout", 30, by="test")
    served.flags.target("new-checkout", ["alice"], by="test")
    served.wait_revision(2)
    client = served.client()
    on = 0
    for i in range(300):
        user = f"user-{i}"
        details = client.get_boolean_details("new-checkout", False, EvaluationContext(user))
        expected = bucket("new-checkout", user) < flag.weight
        assert (details.value, details.variant, details.reason) == (
            expected,
            "on" if expected else "off",
            "SPLIT",
        )
        on += details.value
    assert 60 < on < 120  # ~90 of 300
    alice = client.get_boolean_details("new-checkout", False, EvaluationContext("alice"))
    assert (alice.value, alice.reason) == (True, "TARGETING_MATCH")


def test_the_sdk_hears_the_specs_errors(served: Served) -> None:
    served.flags.set_weight("new-checkout", 30, by="test")
    served.flags.set_weight("banner", 100, by="test")
    served.wait_revision(2)
    client = served.client()
    missing = client.get_boolean_details("nope", False, EvaluationContext("u1"))
    assert (missing.value, missing.error_code) == (False, ErrorCode.FLAG_NOT_FOUND)
    no_key = client.get_boolean_details("new-checkout", False, EvaluationContext())
    assert (no_key.value, no_key.error_code) == (False, ErrorCode.TARGETING_KEY_MISSING)
    static = client.get_boolean_details("banner", False, EvaluationContext())
    assert (static.value, static.reason, static.error_code) == (True, "STATIC", None)
    served.flags.kill("banner", by="test")
    served.wait_revision(3)
    killed = client.get_boolean_details("banner", True, EvaluationContext("u1"))
    assert (killed.value, killed.reason) == (False, "DISABLED")


def test_weight_zero_is_served_within_the_refresh_interval(served: Served) -> None:
    served.flags.set_weight("new-checkout", 100, by="test")
    served.wait_revision(1)
    client = served.client()
    assert client.get_boolean_value("new-checkout", False, EvaluationContext("u1")) is True
    written = time.monotonic()
    served.flags.set_weight("new-checkout", 0, by="test")
    while client.get_boolean_value("new-checkout", False, EvaluationContext("u1")):
        assert time.monotonic() - written < 5
    # bounded, not timed: the served delay is measured by bench/flags.py


def test_bulk_evaluation_answers_304_until_a_flag_changes(served: Served) -> None:
    served.flags.set_weight("new-checkout", 40, by="test")
    served.wait_revision(1)
    url = f"{served.server.url}/ofrep/v1/evaluate/flags"
    context = {"context": {"targetingKey": "u1"}}
    with httpx.Client(trust_env=False) as http:
        first = http.post(url, json=context)
        assert first.status_code == 200 and first.json()["flags"][0]["key"] == "new-checkout"
        tag = first.headers["etag"]
        again = http.post(url, json=context, headers={"if-none-match": tag})
        assert again.status_code == 304 and again.content == b""
        served.flags.set_weight("new-checkout", 41, by="test")
        served.wait_revision(2)
        changed = http.post(url, json=context, headers={"if-none-match": tag})
        assert changed.status_code == 200 and changed.headers["etag"] != tag
        assert changed.json()["flags"][0]["metadata"]["weight"] == 41
        bad = http.post(url, content=b"{oops")
        assert bad.status_code == 400 and bad.json()["errorCode"] == "PARSE_ERROR"
        assert http.get(url).status_code == 405


def test_flagd_reading_the_flag_file_serves_every_user_the_same_variant(
    served: Served,
) -> None:
    served.flags.set_weight("new-checkout", 25, by="test")
    served.flags.target("new-checkout", ["alice"], by="test")
    served.flags.set_weight("banner", 100, by="test")
    served.wait_revision(3)
    path = flagd_path(served.env)
    assert path is not None and path.exists()
    flagd = FlagdProvider(resolver_type=ResolverType.FILE, offline_flag_source_path=str(path))
    api.set_provider_and_wait(flagd, domain="flagd-file")
    from_file = api.get_client("flagd-file")
    from_ofrep = served.client()
    for user in ["alice", *(f"user-{i}" for i in range(300))]:
        context = EvaluationContext(user)
        want = from_ofrep.get_boolean_details("new-checkout", False, context)
        got = from_file.get_boolean_details("new-checkout", False, context)
        assert (got.value, got.variant) == (want.value, want.variant), user
    banner = from_file.get_boolean_details("banner", False, EvaluationContext("u1"))
    assert banner.value is True


def test_a_token_is_required_when_set(tmp_path: Path) -> None:
    for served in serve(tmp_path, token="s3cret-flag-token"):
        served.flags.set_weight("banner", 100, by="test")
        with_token = served.client(
            headers_factory=lambda: {"Authorization": "Bearer s3cret-flag-token"}
        )
        without = served.client()
        deadline = time.monotonic() + 10
        while not with_token.get_boolean_value("banner", False, EvaluationContext("u")):
            assert time.monotonic() < deadline  # until the source has read the write
        details = with_token.get_boolean_details("banner", False, EvaluationContext("u"))
        assert (details.reason, details.error_code) == ("STATIC", None)
        refused = without.get_boolean_details("banner", False, EvaluationContext("u"))
        assert refused.error_code == ErrorCode.GENERAL and refused.value is False


def test_paths_and_methods_outside_the_protocol(served: Served) -> None:
    served.flags.set_weight("banner", 100, by="test")
    served.wait_revision(1)
    url = f"{served.server.url}/ofrep/v1"
    with httpx.Client(trust_env=False) as http:
        assert http.post(f"{url}/evaluate/other", json={}).status_code == 404
        assert http.post(f"{url}/evaluate/flags/banner/x", json={}).status_code == 404
        assert http.get(f"{url}/evaluate/flags/banner").status_code == 405
        one = http.post(f"{url}/evaluate/flags/banner", json={"context": {}})
        assert one.status_code == 200 and one.json()["value"] is True
        assert one.headers["content-length"] == str(len(one.content))
        # a body sent in several chunks is read whole
        chunks = iter([b'{"context":', b'{"targetingKey":"u1"}}'])
        streamed = http.post(f"{url}/evaluate/flags", content=chunks)
        assert streamed.status_code == 200 and streamed.json()["flags"][0]["key"] == "banner"
