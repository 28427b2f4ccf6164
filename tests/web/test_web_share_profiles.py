"""The sharing-profile pages (#18): who may see, draft and propose; a draft is checked (the error
names the key), diffed, and proposed through a signed change request; the released revision is
shown, never changed."""
from __future__ import annotations

from sqlalchemy import select

from audit import SYSTEM
from engine.governance import profile_revisions
from engine.governance.profiles import shipped_profiles
from engine.processes.models import ChangeRequest
from engine.workflows import deploy_all_shipped
from tests.web.conftest import PASSWORD, csrf_token, open_task_id, sign_in

NB = "/sharing/profiles/notified-body"


def _install(db):
    with db.sessions.begin() as s:
        profile_revisions.install_shipped(s, SYSTEM)
        assert not deploy_all_shipped(s, SYSTEM).problems  # the change-control process


def _narrower() -> str:
    return shipped_profiles()["notified-body"].decode("utf-8").replace(', "decision_comment"]', "]")


def test_who_sees_drafts_and_proposes(fresh_db, personas, app):
    _install(fresh_db)
    with fresh_db.sessions.begin() as s:  # an open draft, so the proposal form can show
        profile_revisions.save_draft(s, SYSTEM, "notified-body", _narrower(), reason="NB asked for less")
    for key, page, draft_form, submit_form in (("qa", 200, True, False), ("pe", 200, True, True),
                                               ("auditor", 200, False, False), ("op", 403, False, False)):
        client = app.test_client()
        assert sign_in(client, personas(key)).status_code == 302
        listing = client.get("/sharing/profiles/")
        assert listing.status_code == page
        shown = client.get(NB)
        assert shown.status_code == page
        if page == 200:
            html = shown.get_data(as_text=True)
            assert ('id="draft-form"' in html) is draft_form
            assert ('id="submit-form"' in html) is submit_form
            assert "notified-body" in listing.get_data(as_text=True)
    assert client.post("/sharing/profiles/draft", data={"name": "notified-body", "content": _narrower(),
                                                        "reason": "x"}).status_code in (400, 403)


def test_a_draft_is_checked_diffed_and_proposed_under_signature(fresh_db, personas, app, client, login):
    _install(fresh_db)
    qa, pe = personas("qa"), personas("pe")
    login(qa)
    token = csrf_token(client, NB)
    bad = client.post("/sharing/profiles/draft", data={
        "name": "notified-body", "content": 'colour = "red"\n' + _narrower(), "reason": "x", "csrf_token": token})
    assert bad.status_code == 422 and "unknown key(s) [&#39;colour&#39;]" in bad.get_data(as_text=True)
    nested = client.post("/sharing/profiles/draft", data={
        "name": "notified-body", "content": _narrower() + '\ncolour = "red"\n', "reason": "x", "csrf_token": token})
    assert nested.status_code == 422 and "tables.lots takes only" in nested.get_data(as_text=True)
    saved = client.post("/sharing/profiles/draft", data={
        "name": "notified-body", "content": _narrower(), "reason": "NB asked for less", "csrf_token": token})
    assert saved.status_code == 302
    html = client.get(NB).get_data(as_text=True)
    assert "table release_reviews: drops decision_comment" in html and 'id="profile-diff"' in html
    assert 'id="submit-form"' not in html  # a QA manager does not open change requests
    client = app.test_client()
    assert sign_in(client, pe).status_code == 302
    token = csrf_token(client, NB)
    refused = client.post(f"{NB}/submit", data={"comment": "less for NBs", "csrf_token": token,
                                                "password": PASSWORD, "totp_code": "000000"})
    assert refused.status_code == 422
    with fresh_db.sessions() as s:
        assert profile_revisions.open_revision(s, "notified-body").status == "draft"  # nothing kept
    done = client.post(f"{NB}/submit", data={"comment": "less for NBs", "csrf_token": token,
                                             "password": PASSWORD, "totp_code": pe.code()})
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    with fresh_db.sessions() as s:
        draft = profile_revisions.open_revision(s, "notified-body")
        change = s.scalars(select(ChangeRequest).where(ChangeRequest.number == draft.change_ref)).one()
        assert draft.status == "in_review" and change.status == "submitted"
        assert profile_revisions.find_released(s, "notified-body").revision == 1
    html = client.get(NB).get_data(as_text=True)
    assert 'id="draft-form"' not in html and change.number in html  # in review: locked
    # The change's next task shows the reviewers what recipients will see differently.
    task = client.get(f"/tasks/{open_task_id(fresh_db, change.process_instance_id)}").get_data(as_text=True)
    assert "sharing profile notified-body" in task and "drops decision_comment" in task
    assert "no API token is bound to this profile" in task


def test_a_new_profile_starts_as_a_draft(fresh_db, personas, client, login):
    _install(fresh_db)
    login(personas("qa"))
    token = csrf_token(client, "/sharing/profiles/")
    content = 'name = "auditor-lots"\nselectors = ["lot"]\n[tables.lots]\ncolumns = ["id", "lot_number"]\n'
    bad = client.post("/sharing/profiles/draft", data={"name": "Auditor Lots", "content": content, "reason": "x",
                                                       "csrf_token": token})
    assert bad.status_code == 422 and 'id="profile-error"' in bad.get_data(as_text=True)
    made = client.post("/sharing/profiles/draft", data={"name": "auditor-lots", "content": content,
                                                        "reason": "lot list for the auditor", "csrf_token": token})
    assert made.status_code == 302
    html = client.get("/sharing/profiles/auditor-lots").get_data(as_text=True)
    assert "Not released yet" in html and "new profile: 1 table(s)" in html
    assert client.get("/sharing/profiles/nothing-here").status_code == 404
