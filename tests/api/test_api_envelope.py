"""The API's envelope: spec, docs, problems, authentication, scopes, body limits."""
from __future__ import annotations

import uuid

from engine.access import tokens
from tests.api.conftest import ADMIN, alarm_body, bearer


def test_openapi_document_is_3_1_and_describes_the_api(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/alarms" in spec["paths"] and "/api/v1/health" in spec["paths"]
    post = spec["paths"]["/api/v1/alarms"]["post"]
    assert post["responses"]["422"]["content"]["application/problem+json"]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert {"bearerAuth", "cookieAuth"} <= set(spec["components"]["securitySchemes"])


def test_header_model_schema_is_built_once_and_handed_out_as_copies(monkeypatch):
    """flask-openapi3 asks a header model for its JSON schema on every request (#13)."""
    from pydantic import BaseModel

    from web.api import common
    from web.api.alarms import IdempotencyHeader

    monkeypatch.setattr(common, "_HEADER_SCHEMAS", {})
    built = []
    real = BaseModel.model_json_schema.__func__
    monkeypatch.setattr(BaseModel, "model_json_schema",
                        classmethod(lambda cls, *a, **k: built.append(cls) or real(cls, *a, **k)))
    first = IdempotencyHeader.model_json_schema()
    first["properties"].clear()  # a caller modifying its copy changes nobody else's
    second = IdempotencyHeader.model_json_schema()
    assert built == [IdempotencyHeader]
    assert second["properties"]["Idempotency-Key"]["maxLength"] == 255 and second["required"] == ["Idempotency-Key"]


def test_browsable_docs_page(client):
    response = client.get("/api/v1/swagger")
    assert response.status_code == 200 and b"swagger-ui" in response.data
    nonce = response.headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">'.encode() in response.data  # the inline bootstrap may run
    with client.get("/api/v1/swagger/js/swagger-ui-bundle.js") as asset:  # served locally, no CDN
        assert asset.status_code == 200


def test_health_needs_no_credentials(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json()["checks"]["database"]["ok"] is True


def test_missing_token_is_401_problem(client):
    response = client.post("/api/v1/alarms", json=alarm_body())
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 401 and problem["title"] and problem["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_and_malformed_tokens_are_401(client, full_token):
    forged = full_token[:-4] + ("AAAA" if not full_token.endswith("AAAA") else "BBBB")
    for header in (bearer(forged), bearer("stk_nope"), {"Authorization": "Basic abc"}):
        assert client.get("/api/v1/alarms/1", headers=header).status_code == 401


def test_revoked_token_is_refused_at_once(client, make_token, api_db):
    secret = make_token(tokens.READ, name="to revoke")
    assert client.get("/api/v1/alarms/999999", headers=bearer(secret)).status_code == 404
    public_id = secret.split("_")[1]
    with api_db.sessions.begin() as session:
        tokens.revoke_token(session, ADMIN, public_id, reason="device decommissioned")
    response = client.get("/api/v1/alarms/999999", headers=bearer(secret))
    assert response.status_code == 401 and "revoked" in response.get_json()["detail"]


def test_scope_is_enforced(client, make_token):
    read_only = make_token(tokens.READ, name="reader")
    response = client.post("/api/v1/alarms", json=alarm_body(event_id=str(uuid.uuid4())),
                           headers=bearer(read_only))
    assert response.status_code == 403
    assert "alarms:write" in response.get_json()["detail"]
    writer = make_token(tokens.ALARMS_WRITE, name="writer")
    assert client.get("/api/v1/alarms/1", headers=bearer(writer)).status_code == 403


def test_wrong_content_type_is_415(client, full_token):
    response = client.post("/api/v1/alarms", data="code=TEMP_HIGH", headers=bearer(full_token)
                           | {"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"


def test_malformed_json_is_400(client, full_token):
    response = client.post("/api/v1/alarms", data='{"code": ', headers=bearer(full_token)
                           | {"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["detail"] == "the body is not valid JSON"


def test_oversized_body_is_413(client, app, full_token):
    big = alarm_body(message="x" * (app.config["API_MAX_BODY_BYTES"] + 10))
    response = client.post("/api/v1/alarms", json=big, headers=bearer(full_token))
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_validation_errors_name_each_field(client, full_token):
    body = alarm_body(severity=0, source={"line": "L1"}, unexpected=1)
    response = client.post("/api/v1/alarms", json=body, headers=bearer(full_token)
                           | {"Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 422
    problem = response.get_json()
    fields = {e["field"] for e in problem["errors"]}
    assert {"severity", "source.equipment", "unexpected"} <= fields
    pointers = {e["pointer"] for e in problem["errors"]}
    assert "/source/equipment" in pointers


def test_unknown_api_path_and_method_are_problems(client, full_token):
    response = client.get("/api/v1/nothing-here", headers=bearer(full_token))
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    response = client.delete("/api/v1/alarms", headers=bearer(full_token))
    assert response.status_code == 405 and response.mimetype == "application/problem+json"
    assert "POST" in response.headers["Allow"]
