"""The OpenAPI schema is valid, and the API keeps to it: schemathesis drives every operation of
/api/v1/ through the WSGI app (bounded examples) and finds no 5xx and no response that breaks the
schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from tests.conftest import Persona, Signer
from tests.test_api_support import queued, scored

pytestmark = pytest.mark.django_db(transaction=True)


def test_schema_validates_without_warnings(tmp_path: Path) -> None:
    # Exactly what `manage.py spectacular --validate --fail-on-warn` does; raises on any warning.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml"))
    assert "/api/v1/uploads/{id}/finalise/" in (tmp_path / "s.yaml").read_text()


def _load_schema() -> Any:
    from ipwboard.wsgi import application

    # Loading the schema runs no query (the schema view is public and needs no database).
    return schemathesis.openapi.from_wsgi("/api/v1/schema/", application)


@pytest.fixture
def seeded(alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any) -> Persona:
    scored(alice, alice_key, demo_version, make_bundle)  # something real to list and filter
    queued(alice, alice_key, demo_version, make_bundle)  # and one with no model yet
    return alice


schema = _load_schema()


@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case: Any, seeded: Persona, live_server: Any) -> None:
    # Over HTTP against the live server: the real WSGI stack, with its own DB connection.
    response = case.call_and_validate(
        base_url=live_server.url,
        headers={"Authorization": f"Token {seeded.token}"},
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )
    assert response.status_code < 500
