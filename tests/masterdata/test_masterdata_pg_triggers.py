"""On PostgreSQL, triggers refuse raw SQL that edits released revisions or append-only records."""
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from engine.masterdata import boms, catalog, revisions

from masterdata_factories import ACTOR, make_item, make_released_bom

pytestmark = pytest.mark.postgres_only


@pytest.fixture(autouse=True)
def _postgres_only(session):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL triggers")


def _raw(session, sql, **params):
    nested = session.begin_nested()
    try:
        session.execute(text(sql), params)
    finally:
        nested.rollback()


def test_raw_update_of_released_revision_is_refused(session):
    doc, rev = catalog.create_document(session, ACTOR, code="SOP-9", title="T", doc_type="sop", body="b")
    revisions.submit_for_review(session, ACTOR, rev)
    revisions.release(session, ACTOR, rev, reason="r")
    with pytest.raises(DBAPIError, match="immutable"):
        _raw(session, "UPDATE document_revisions SET body = 'x' WHERE id = :i", i=rev.id)
    with pytest.raises(DBAPIError, match="cannot be deleted"):
        _raw(session, "DELETE FROM document_revisions WHERE id = :i", i=rev.id)
    with pytest.raises(DBAPIError, match="immutable"):
        _raw(session, "UPDATE document_revisions SET state = 'draft' WHERE id = :i", i=rev.id)
    # the one allowed move: released -> obsolete (life-cycle columns only)
    _raw(session, "UPDATE document_revisions SET state = 'obsolete', obsoleted_at = now() WHERE id = :i", i=rev.id)


def test_raw_edit_of_released_bom_lines_is_refused(session):
    tube = make_item(session, "TUBE", unit="m")
    parent = make_item(session, "SET", item_type="finished_good", purchased=False)
    rev = make_released_bom(session, parent, [(tube, 1.5, "m")])
    with pytest.raises(DBAPIError, match="bom_lines of a released revision"):
        _raw(session, "UPDATE bom_lines SET quantity = 9 WHERE bom_revision_id = :i", i=rev.id)
    with pytest.raises(DBAPIError, match="bom_lines of a released revision"):
        _raw(session, "INSERT INTO bom_lines (bom_revision_id, position, component_id, quantity, unit, reference, "
                      "notes) VALUES (:i, 99, :c, 1, 'm', '', '')", i=rev.id, c=tube.id)


def test_raw_insert_of_released_revision_is_refused(session):
    doc, _ = catalog.create_document(session, ACTOR, code="SOP-8", title="T", doc_type="sop", body="b")
    with pytest.raises(DBAPIError, match="starts as draft"):
        _raw(session, "INSERT INTO document_revisions (document_id, label, state, title, body, change_summary, "
                      "created_at) VALUES (:d, 'Z', 'released', 't', 'b', '', now())", d=doc.id)


def test_draft_rows_stay_editable(session):
    tube = make_item(session, "TUBE", unit="m")
    parent = make_item(session, "SET", item_type="finished_good", purchased=False)
    _, rev = catalog.create_bom(session, ACTOR, code="BOM-SET", name="Set", item=parent)
    boms.add_line(session, ACTOR, rev, component=tube, quantity=1, unit="m")
    _raw(session, "UPDATE bom_lines SET quantity = 2 WHERE bom_revision_id = :i", i=rev.id)
