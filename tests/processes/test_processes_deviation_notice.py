"""A deviation opened on a work centre is posted to that work centre's chat webhook (issue #22):
number and process page only, in the deviation's own transaction."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.errors import ValidationFailed
from engine.notifications import channels
from engine.notifications.messages import Item, render
from engine.notifications.models import Notification
from engine.notifications.transports import webhook_body
from engine.processes.deviations import open_deviation


def test_deviation_on_a_work_centre_is_queued_for_its_webhook_only(quality):
    plant, s = quality.plant, quality.session
    work_centre = plant.params["press_force"].operation.work_centre
    actor = quality.actor("op_li")
    hook = channels.add_webhook(s, actor, name="line-1", kind="dingtalk", url="https://oapi.example/robot/send?x=1",
                                work_centre=work_centre)
    channels.add_webhook(s, actor, name="elsewhere", kind="slack", url="https://hooks.example/x",
                         work_centre=work_centre + "-OTHER")
    dev = open_deviation(s, actor, lot="P-001", parameter=plant.params["press_force"], value=121.0,
                         source="measurement", description="press force above USL, operator note: secret detail")
    [row] = s.scalars(select(Notification).where(Notification.kind == "deviation_opened")).all()
    assert (row.webhook_id, row.title, row.link) == (hook.id, f"{dev.number} · {work_centre}",
                                                     f"/processes/{dev.process_instance_id}")
    body = webhook_body("dingtalk", render([Item(row.kind, row.title, "https://q.example" + row.link)], "zh_CN"))
    text = body["markdown"]["text"]
    assert f"新偏差：{dev.number}" in text and "secret detail" not in text and "121" not in text


def test_a_webhook_follows_a_role_or_a_work_centre_not_both(quality):
    with pytest.raises(ValidationFailed, match="not both"):
        channels.add_webhook(quality.session, quality.actor("op_li"), name="x", kind="slack",
                             url="https://hooks.example/x", role="qa_manager", work_centre="WC-1")
