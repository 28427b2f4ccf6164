"""Liveness, readiness and the 503 answer when the database cannot be reached."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.conftest import ON_POSTGRES
from tests.ops.conftest import make_app
from web.db import transaction
from web.login import public


def _unreachable_url(tmp_path) -> str:
    if ON_POSTGRES:
        return "postgresql+psycopg://postgres@127.0.0.1:9/nowhere?connect_timeout=2"
    return f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}"


def test_healthz_answers_without_touching_the_database(tmp_path):
    app = make_app(_unreachable_url(tmp_path))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "alive"
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_is_ready_on_a_migrated_database(ops_app):
    response = ops_app.test_client().get("/readyz")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] and body["checks"]["migrations"]["ok"]
    assert "at head" in body["checks"]["migrations"]["detail"]


def test_readyz_refuses_an_unmigrated_database(db_server):
    url = db_server.create_empty(f"{db_server.prefix}_empty_ready")
    app = make_app(url)
    try:
        response = app.test_client().get("/readyz")
    finally:
        app.extensions["sealtrail.engine"].dispose()
        db_server.drop(f"{db_server.prefix}_empty_ready")
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.json["checks"]["database"]["ok"] is True
    assert "sealtrail init" in response.json["checks"]["migrations"]["detail"]


def test_readyz_refuses_a_schema_behind_the_code(fresh_db):
    with fresh_db.owner_engine.begin() as conn:  # only the schema owner writes alembic_version
        # several heads (one per area) means several rows: replace them all by one old revision
        conn.execute(text("DELETE FROM alembic_version"))
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('an_old_revision')"))
    app = make_app(fresh_db.url)
    response = app.test_client().get("/readyz")
    app.extensions["sealtrail.engine"].dispose()
    assert response.status_code == 503
    assert "an_old_revision" in response.json["checks"]["migrations"]["detail"]


def test_readyz_reports_an_unreachable_database(tmp_path):
    app = make_app(_unreachable_url(tmp_path))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"]["ok"] is False
    assert response.json["checks"]["database"]["detail"].startswith("unreachable")


def _app_with_query_route(url):
    app = make_app(url)

    @app.get("/probe")
    @app.get("/api/v1/probe")
    @public  # pages require a signed-in user unless marked public
    def probe():
        with transaction() as session:
            return {"one": session.execute(text("SELECT 1")).scalar_one()}

    return app


@pytest.mark.parametrize("path, headers, json_expected", [
    ("/api/v1/probe", {}, True),
    ("/probe", {"Accept": "application/json"}, True),
    ("/probe", {"Accept": "text/html,application/xhtml+xml"}, False),
])
def test_unreachable_database_answers_503_not_500(tmp_path, path, headers, json_expected):
    app = _app_with_query_route(_unreachable_url(tmp_path))
    response = app.test_client().get(path, headers=headers)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.headers["X-Request-ID"]
    if json_expected:
        assert response.mimetype == "application/problem+json"
        assert response.json["status"] == 503
        assert "unreachable" in response.json["detail"] and "Nothing" in response.json["detail"]
    else:
        page = response.get_data(as_text=True)
        assert "Service unavailable" in page and "服务暂不可用" in page


def test_the_same_route_works_when_the_database_is_there(fresh_db):
    app = _app_with_query_route(fresh_db.url)
    assert app.test_client().get("/api/v1/probe").json == {"one": 1}
    app.extensions["sealtrail.engine"].dispose()
