"""Lead-time forecasts: median/P90 with known answers, the predicted release of a lot, the pages."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from audit import SYSTEM
from engine.planning import plans
from engine.planning.forecasts import predicted_release, release_lead_days
from engine.production import lots
from engine.workflows.lead_times import summarise
from tests.web.conftest import make_app, make_persona, sign_in


def test_median_and_p90_of_signed_lead_times():
    lt = summarise([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    assert lt.n == 10 and lt.median_hours == 5.5 and abs(lt.p90_hours - 9.1) < 1e-9
    assert summarise([4, 8]) is None  # two completions predict nothing


def test_predicted_release_of_a_completed_and_of_a_planned_lot(demo_db):
    with demo_db.sessions.begin() as s:
        lead = release_lead_days(s)
        assert lead is not None and lead > 0  # five released made lots in the demo
        done = lots.get_lot(s, "IS200-2610-003")
        long_ago = done.completed_at - timedelta(days=1)  # "now" right after completion: the median decides
        got = predicted_release(s, done, long_ago)
        assert got["basis"] == "completed" and got["at"] == done.completed_at + timedelta(days=lead)
        tube = lots.get_lot(s, "TUBE-2611-01")
        assert predicted_release(s, tube, long_ago) is None  # not in a plan in force yet
        day = lots.get_lot(s, "IS200-2611-004").due_on - timedelta(days=8)
        plan = plans.create_plan(s, SYSTEM, start_day=day, days=14, timezone="Asia/Shanghai")
        plans.release_plan(s, SYSTEM, plan, reason="week plan")
        end = max(o.ends_at for o in plan.operations if o.lot_id == tube.id)
        got = predicted_release(s, tube, long_ago)
        assert got["basis"] == "planned" and got["at"] == end + timedelta(days=lead)
        assert predicted_release(s, lots.get_lot(s, "IS200-2609-001"), long_ago) is None  # released already
    app = make_app(demo_db)
    client = app.test_client()
    assert sign_in(client, make_persona(demo_db, "pe")).status_code == 302
    assert 'id="predicted-release"' in client.get("/lots/TUBE-2611-01").get_data(as_text=True)
    assert client.get("/inbox/").status_code == 200
    app.extensions["sealtrail.engine"].dispose()
