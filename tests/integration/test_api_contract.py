"""Regressions for what Schemathesis found: the API answering differently from what its OpenAPI document says."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from tests.conftest import unique
from tests.fixtures.api_data import seeded_workspace

PROBLEM = "application/problem+json"


@pytest.fixture
def client():
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def a():
    return seeded_workspace()


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


@pytest.mark.parametrize(
    "path,allowed",
    [
        ("/api/v1/messages/approve", "POST"),  # was "GET, POST": /messages/{message_id} was matched as text
        ("/api/v1/runs/7/cancel", "POST"),
        ("/api/v1/leads/7", "GET, PATCH, DELETE"),
        ("/api/v1/templates", "GET, POST"),
    ],
)
def test_405_names_exactly_the_methods_of_the_path(client, a, path, allowed):
    response = client.request("PUT", path, headers=auth(a.key))
    assert response.status_code == 405 and response.headers["allow"] == allowed


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_idempotency_key_is_refused_not_ignored(client, a, value):
    """It used to be skipped, so the POST ran without the protection the client asked for."""
    body = {"channel": "email", "address": f"{unique('e')}@example.test"}
    response = client.post("/api/v1/suppressions", json=body, headers=auth(a.key, **{"Idempotency-Key": value}))
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    assert "Idempotency-Key" in response.json()["detail"]
    assert client.get("/api/v1/suppressions", params={"search": body["address"]}, headers=auth(a.key)).json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"clear_owner": 0},  # was taken as false
        {"notes": 5},
        {"owner_id": "1"},
        {"tags": ["vip"], "colour": "red"},  # an unknown field was ignored
    ],
)
def test_a_body_off_the_document_is_refused_and_changes_nothing(client, a, body):
    lead = f"/api/v1/leads/{a.lead_ids[0]}"
    before = client.get(lead, headers=auth(a.key)).json()
    response = client.patch(lead, json=body, headers=auth(a.key))
    assert response.status_code == 422 and response.json()["errors"]
    assert client.get(lead, headers=auth(a.key)).json() == before


def test_an_integral_number_is_an_integer_as_json_schema_says(client, a):
    response = client.post("/api/v1/messages/approve", json={"message_ids": [float(a.message_ids[0])]},
                           headers=auth(a.key))
    assert response.status_code == 200 and response.json()["approved"] == 1


def test_bulk_actions_each_have_their_shape(client, a):
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert schema["BulkSetStatus"]["required"] == ["action", "lead_ids", "status"]
    missing = client.post("/api/v1/leads/bulk", json={"action": "set_status", "lead_ids": a.lead_ids},
                          headers=auth(a.key))
    assert missing.status_code == 422 and missing.json()["errors"][0]["loc"][-1] == "status"
    done = client.post("/api/v1/leads/bulk", json={"action": "set_status", "lead_ids": a.lead_ids, "status": "lost"},
                       headers=auth(a.key))
    assert done.json() == {"action": "set_status", "affected": len(a.lead_ids)}


def test_an_address_with_a_slash_can_be_lifted_from_the_suppression_list(client, a):
    """``x/y@z`` is a valid address; its DELETE used to answer the router's 404."""
    address = f"{unique('dept')}/sales@example.test"
    assert client.post("/api/v1/suppressions", json={"channel": "email", "address": address},
                       headers=auth(a.key)).status_code == 201
    path = f"/api/v1/suppressions/email/{quote(address, safe='')}"
    assert client.delete(path, headers=auth(a.key)).status_code == 204
    assert client.get("/api/v1/suppressions", params={"search": address}, headers=auth(a.key)).json() == []


def test_a_blank_template_is_refused_by_request_validation(client, a):
    response = client.post("/api/v1/templates", json={"name": "  ", "channel": "email", "body": " \n"},
                           headers=auth(a.key))
    assert response.status_code == 422 and {e["loc"][-1] for e in response.json()["errors"]} == {"name", "body"}


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_a_lead_id_past_the_id_column_is_a_422_not_a_500(client, a, method):
    """The document allowed ids up to 2**63-1; PostgreSQL's 32-bit id column raised 'integer out of range'."""
    response = client.request(method, f"/api/v1/leads/{2**31}", json={} if method == "PATCH" else None,
                              headers=auth(a.key))
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    assert client.get(f"/api/v1/leads/{2**31 - 1}", headers=auth(a.key)).status_code == 404
