"""Revision rules: drafts only are edited, one effective revision, release obsoletes the previous."""
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from audit.models import AuditEntry
from engine.db import utcnow
from engine.errors import Conflict, RevisionRuleViolation, ValidationFailed
from engine.masterdata import catalog, revisions
from engine.masterdata.models import DocumentRevision, ProductRevision

from masterdata_factories import ACTOR, make_item, release_now  # noqa: E402


def _doc(session, code="SOP-001", body="Clean the bench."):
    doc, rev = catalog.create_document(session, ACTOR, code=code, title="Line clearance", doc_type="sop", body=body)
    return doc, rev


@pytest.mark.requirement("ISO13485-4.2.4")
def test_first_release_makes_revision_effective_and_audits(session):
    doc, rev = _doc(session)
    assert rev.label == "A" and rev.state == "draft"
    release_now(session, rev)
    assert revisions.effective_revision(session, doc) is rev
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == "SOP-001/A")).all()
    assert actions == ["revision.create_draft", "revision.submit", "revision.release"]


@pytest.mark.requirement("ISO13485-4.2.4")
def test_release_makes_previous_obsolete_atomically(session):
    doc, rev_a = _doc(session)
    release_now(session, rev_a)
    rev_b = revisions.new_draft(session, ACTOR, doc, change_summary="add step 4")
    assert rev_b.label == "B" and rev_b.body == rev_a.body
    revisions.edit_draft(session, ACTOR, rev_b, body="Clean the bench. Wipe with IPA 70 %.")
    release_now(session, rev_b)
    assert rev_a.state == "obsolete" and rev_a.obsoleted_at is not None
    assert rev_b.state == "released"
    assert revisions.effective_revision(session, doc) is rev_b
    released = session.scalars(select(DocumentRevision).where(DocumentRevision.document_id == doc.id,
                                                              DocumentRevision.state == "released")).all()
    assert released == [rev_b]


@pytest.mark.requirement("ISO13485-4.2.4")
def test_editing_a_released_revision_is_refused_by_the_use_case(session):
    _, rev = _doc(session)
    release_now(session, rev)
    with pytest.raises(RevisionRuleViolation, match="only drafts can be edited"):
        revisions.edit_draft(session, ACTOR, rev, body="changed")
    assert rev.body == "Clean the bench."


@pytest.mark.requirement("ISO13485-4.2.4")
def test_editing_a_released_revision_is_refused_by_the_model_layer(session):
    _, rev = _doc(session)
    release_now(session, rev)
    session.flush()
    rev.body = "tampered"
    with pytest.raises(RevisionRuleViolation) as err:
        session.flush()
    assert err.value.field == "body" and "SOP-001 rev A" in err.value.message


@pytest.mark.requirement("ISO13485-4.2.4")
def test_in_review_content_is_frozen(session):
    _, rev = _doc(session)
    revisions.submit_for_review(session, ACTOR, rev)
    rev.title = "other"
    with pytest.raises(RevisionRuleViolation, match="in_review"):
        session.flush()


@pytest.mark.requirement("ISO13485-4.2.4")
def test_second_effective_revision_is_refused(session):
    doc, rev_a = _doc(session)
    release_now(session, rev_a)
    rev_b = revisions.new_draft(session, ACTOR, doc, change_summary="x")
    revisions.submit_for_review(session, ACTOR, rev_b)
    # bypass release(): flip the state directly -> the model guard refuses a second effective revision
    rev_b.state = "released"
    with pytest.raises(IntegrityError, match="uq_document_revisions_effective|UNIQUE"):
        session.flush()


@pytest.mark.requirement("ISO13485-4.2.4")
def test_second_effective_revision_refused_by_database_index(session):
    doc, rev_a = _doc(session)
    release_now(session, rev_a)
    rev_b = revisions.new_draft(session, ACTOR, doc, change_summary="x")
    revisions.submit_for_review(session, ACTOR, rev_b)
    session.flush()
    nested = session.begin_nested()
    with pytest.raises(DBAPIError):
        session.execute(text("UPDATE document_revisions SET state = 'released' WHERE id = :i"), {"i": rev_b.id})
    nested.rollback()


@pytest.mark.requirement("ISO13485-4.2.4")
def test_release_requires_review_and_reason(session):
    _, rev = _doc(session)
    with pytest.raises(RevisionRuleViolation, match="submit it for review first"):
        revisions.release(session, ACTOR, rev, reason="go")
    revisions.submit_for_review(session, ACTOR, rev)
    with pytest.raises(ValidationFailed) as err:
        revisions.release(session, ACTOR, rev, reason="  ")
    assert err.value.field == "reason"
    assert rev.state == "in_review"


@pytest.mark.requirement("ISO13485-4.2.4")
def test_future_or_backdated_effective_from_is_refused(session):
    doc, rev_a = _doc(session)
    revisions.submit_for_review(session, ACTOR, rev_a)
    revisions.release(session, ACTOR, rev_a, reason="go", effective_from=utcnow() - timedelta(days=10))
    rev_b = revisions.new_draft(session, ACTOR, doc, change_summary="x")
    revisions.submit_for_review(session, ACTOR, rev_b)
    with pytest.raises(ValidationFailed) as err:
        revisions.release(session, ACTOR, rev_b, reason="go", effective_from=utcnow() + timedelta(days=3))
    assert err.value.field == "effective_from"
    with pytest.raises(ValidationFailed, match="before that of the revision it replaces"):
        revisions.release(session, ACTOR, rev_b, reason="go", effective_from=utcnow() - timedelta(days=20))
    assert rev_a.state == "released" and rev_b.state == "in_review"


@pytest.mark.requirement("ISO13485-4.2.4")
def test_only_one_open_draft_and_drafts_can_be_discarded(session):
    doc, rev_a = _doc(session)
    release_now(session, rev_a)
    rev_b = revisions.new_draft(session, ACTOR, doc, change_summary="x")
    with pytest.raises(Conflict):
        revisions.new_draft(session, ACTOR, doc, change_summary="y")
    revisions.discard_draft(session, ACTOR, rev_b, reason="not needed")
    # the label of a discarded draft is free again (it was never effective)
    assert revisions.new_draft(session, ACTOR, doc, change_summary="y").label == "B"


@pytest.mark.requirement("ISO13485-4.2.4")
def test_released_revision_cannot_be_deleted(session):
    _, rev = _doc(session)
    release_now(session, rev)
    session.delete(rev)
    with pytest.raises(RevisionRuleViolation, match="only drafts can be deleted"):
        session.flush()


@pytest.mark.requirement("ISO13485-4.2.4")
def test_unknown_field_and_bad_gtin_refused_naming_the_field(session):
    fg = make_item(session, "FG-1", item_type="finished_good", purchased=False)
    _, rev = catalog.create_product(session, ACTOR, code="P-1", name="Set", item=fg)
    with pytest.raises(ValidationFailed) as err:
        revisions.edit_draft(session, ACTOR, rev, gtin="06912345678901")
    assert err.value.field == "gtin" and "check digit" in err.value.message
    with pytest.raises(ValidationFailed) as err:
        revisions.edit_draft(session, ACTOR, rev, state="released")
    assert err.value.field == "state"
    revisions.edit_draft(session, ACTOR, rev, gtin="06912345678902")
    assert rev.udi_di == "06912345678902"


@pytest.mark.requirement("ISO13485-4.2.4")
def test_product_without_gtin_cannot_be_submitted(session):
    fg = make_item(session, "FG-2", item_type="finished_good", purchased=False)
    _, rev = catalog.create_product(session, ACTOR, code="P-2", name="Set", item=fg)
    with pytest.raises(ValidationFailed) as err:
        revisions.submit_for_review(session, ACTOR, rev)
    assert err.value.field == "gtin"
    assert isinstance(rev, ProductRevision) and rev.state == "draft"


@pytest.mark.requirement("ISO13485-4.2.4")
def test_life_cycle_records_the_user_behind_the_actor(session):
    from engine.users import accounts, actor_for

    user = accounts.create_user(session, ACTOR, username="wang.fang", printed_name="王芳 / Wang Fang",
                                password="Process-eng-1", roles=["process_engineer"])
    actor = actor_for(user)
    session.flush()
    session.expunge(user)  # the lookup behind the actor must query (autoflush) mid-transition
    doc, rev = _doc(session)
    revisions.submit_for_review(session, actor, rev)
    revisions.release(session, actor, rev, reason="go")
    rev_b = revisions.new_draft(session, actor, doc, change_summary="x")
    revisions.submit_for_review(session, actor, rev_b)
    revisions.release(session, actor, rev_b, reason="go")
    assert rev.obsoleted_by_id == rev.released_by_id == rev.submitted_by_id == int(actor.id)
    assert rev_b.created_by_id == int(actor.id)
