"""``sealtrail trace`` and ``sealtrail recall`` on a committed genealogy."""
import json

from click.testing import CliRunner
from flask.cli import ScriptInfo

from tests.trace.conftest import make_genealogy
from web.app import create_app
from web.cli import cli


def _run(db, *args):
    """Run the real command group against ``db``; the app's engine is disposed afterwards."""
    app = create_app({"TESTING": True}, settings=db.settings())
    try:
        return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app)), app
    finally:
        app.extensions["sealtrail.engine"].dispose()


def test_trace_and_recall_commands(fresh_db):
    with fresh_db.sessions.begin() as session:
        g = make_genealogy(session, seed=3, layers=3, width=3, fan=2)
    top, raw = g.numbers[g.layers[0][0]], g.numbers[g.layers[-1][0]]
    result, _ = _run(fresh_db, "trace", top)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith(top) and "├── " in result.output
    assert "depth 2 (backward)" in result.output
    result, _ = _run(fresh_db, "trace", f"(01)09506000134352(10){raw}", "--forward", "--json")
    data = json.loads(result.output)
    assert data["root"]["lot_number"] == raw and data["direction"] == "forward"
    result, _ = _run(fresh_db, "recall", raw)
    assert result.exit_code == 0 and "finished lot(s) affected" in result.output
    result, _ = _run(fresh_db, "trace", "NOPE")
    assert result.exit_code == 1 and "no lot 'NOPE'" in result.output
