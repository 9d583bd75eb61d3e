"""The API against its own OpenAPI document, property-based (schemathesis, from PyPI): for
any request the document allows — any filter, cursor, id, action, key or body — the server
answers without an error of its own (no 5xx) and with a status and a body the document
declares. The live streams are left out (an answer that never ends is not a case here), and
so is starting a deployment (each case would run one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from slipway.server import api
from tests.server.kit import Served, record_deployment, serve, write_spec

schema = (
    schemathesis.openapi.from_path(api.OPENAPI)
    .exclude(path_regex=r"/events$")
    # starting deployments of made-up versions would run real ones (tests/server/test_actions)
    .exclude(method="POST", path_regex=r"^/api/v1/environments/")
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    # generated requests send wrong tokens by the dozen: a limit that lets the test go on
    with serve(write_spec(Path(tmp_path_factory.mktemp("spec"))), sign_in_limit=1000) as s:
        for version in ("v1", "v2", "<b>v3</b>"):
            record_deployment(s.store, version=version)
        yield s


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_answer_is_one_the_document_declares(case: schemathesis.Case, served: Served) -> None:
    token = served.tokens["admin"]
    # a cursor is opaque: one the server did not give is refused (400), however well-formed
    opaque = [positive_data_acceptance] if (case.query or {}).get("cursor") else []
    case.call_and_validate(
        base_url=served.url,
        headers={"Authorization": f"Bearer {token}"},
        excluded_checks=opaque,
    )
