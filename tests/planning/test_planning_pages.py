"""The plan pages: versions, a Gantt chart per work centre, the lots not placed and why."""
from __future__ import annotations

from datetime import timedelta

from audit import SYSTEM
from engine.planning import plans
from engine.production import lots
from tests.web.conftest import make_app, make_persona, sign_in


def test_plan_page_draws_each_work_centre_and_names_the_blocked_lots(demo_db):
    with demo_db.sessions.begin() as s:
        day = lots.get_lot(s, "IS200-2611-004").due_on - timedelta(days=8)
        plans.create_plan(s, SYSTEM, start_day=day, days=14, timezone="Asia/Shanghai")
    app = make_app(demo_db)
    client = app.test_client()
    assert sign_in(client, make_persona(demo_db, "pe")).status_code == 302
    listing = client.get("/planning/").get_data(as_text=True)
    assert 'href="/planning/1"' in listing and "optimal" in listing
    html = client.get("/planning/1").get_data(as_text=True)
    for wc in ("Cleanroom A", "Extrusion", "QC lab"):
        assert f'data-work-centre="{wc}"' in html
    assert html.count("<svg") == 3 and 'data-lot="DRIP-2611-01"' in html and "UV-01" in html
    assert "LT-01 is overdue for calibration" in html and 'data-code="material_short"' in html
    assert "LT-01</text>" not in html  # no Gantt row for the overdue leak tester
    assert client.get("/planning/99").status_code == 404
    operator = app.test_client()
    assert sign_in(operator, make_persona(demo_db, "op")).status_code == 302
    assert operator.get("/planning/1").status_code == 403
    app.extensions["sealtrail.engine"].dispose()
