"""The data dictionary page under /admin/ (issue #18)."""
from __future__ import annotations


def test_qa_manager_reads_the_dictionary_and_filters_personal_columns(client, login, personas):
    login(personas("qa"))
    page = client.get("/admin/data-dictionary/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="t-parameter_measurements"' in html and "none: the database matches the models" in html
    filtered = client.get("/admin/data-dictionary/?q=lots&personal=1").get_data(as_text=True)
    assert "<code>recorded_by_id</code>" in filtered and "<code>quantity</code>" not in filtered
    download = client.get("/admin/data-dictionary/export.md")
    assert download.status_code == 200 and download.mimetype == "text/markdown"
    assert "## operation_executions" in download.get_data(as_text=True)
    assert client.get("/admin/data-dictionary/export.exe").status_code == 404


def test_an_operator_may_not_read_it(client, login, personas):
    login(personas("op"))
    assert client.get("/admin/data-dictionary/").status_code == 403


def test_the_page_speaks_chinese(client, login, personas, fresh_db):
    from engine.users.models import User

    qa = personas("qa")
    with fresh_db.sessions.begin() as s:  # the profile's language
        s.get(User, qa.id).locale = "zh_CN"
    login(qa)
    html = client.get("/admin/data-dictionary/").get_data(as_text=True)
    assert "数据字典" in html and "仅追加" in html and "无：数据库与模型一致" in html
