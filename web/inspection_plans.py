"""ISO 2859-1 sampling plans as a person reads them: the severity and why it applies (the reason
codes of ``engine.masterdata.switching``), and what to draw and how to judge it, in the page's
language. Pages and fragments call these; the API returns the plan's data as it is."""
from __future__ import annotations

from flask_babel import gettext as _


def severity_label(severity: str) -> str:
    return {"normal": _("Normal inspection"), "tightened": _("Tightened inspection"),
            "reduced": _("Reduced inspection")}.get(severity, severity)


def why(plan: dict) -> str:
    """Why the plan's severity applies: e.g. "switching score 30 reached; reduced inspection approved"."""
    sw = plan.get("switching") or {}
    reason, score, detail = sw.get("reason"), sw.get("score"), sw.get("detail") or {}
    if reason == "score_reached":
        return _("switching score %(score)d reached; reduced inspection approved for this item",
                 score=detail.get("score", 0))
    if reason == "two_of_five":
        return _("2 of the last %(lots)d lots on normal inspection were not accepted; %(run)d of 5 consecutive "
                 "lots accepted since", lots=detail.get("lots", 5), run=detail.get("accepted_in_a_row", 0))
    texts = {
        "start": _("switching score %(score)d of %(needed)d for reduced inspection"),
        "score_not_approved": _("switching score %(score)d, but reduced inspection is not approved for this item"),
        "five_accepted": _("5 consecutive lots accepted on tightened inspection; switching score %(score)d"),
        "not_accepted_on_reduced": _("a lot was not accepted on reduced inspection; switching score %(score)d"),
        "approval_withdrawn": _("reduced inspection is no longer approved for this item; switching score %(score)d"),
    }
    text = texts.get(reason)
    return text % {"score": score or 0, "needed": detail.get("needed", 30)} if text else ""


def draw(plan: dict) -> str:
    """What to draw and how to judge it."""
    if plan.get("full_inspection"):
        return _("code letter %(letter)s: inspect every unit (%(n)d); accept with %(ac)d or fewer nonconforming, "
                 "reject with %(re)d", letter=plan["code_letter"], n=plan["sample_size"], ac=plan["accept"],
                 re=plan["reject"])
    return _("code letter %(letter)s: inspect %(n)d unit(s); accept with %(ac)d or fewer nonconforming, "
             "reject with %(re)d", letter=plan["code_letter"], n=plan["sample_size"], ac=plan["accept"],
             re=plan["reject"])
