"""Diagram labels in the reader's language, for the read-only viewers (process page, version compare).

The shipped diagrams name user tasks bilingually ("Triage and classify / 偏差分级"); service tasks,
events, gateways, flows and lanes carry English names (lanes carry role ids). A viewer in Chinese
gets a copy of the XML whose names are translated: the bilingual half, the role's label, or the
catalogue entry below. The modeler always edits the stored document, never this copy.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from lxml import etree

from engine.workflows import xmlsafe
from web.i18n import bilingual, current_language, role_label

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"

# Names used by the shipped diagrams (bpmn/*.bpmn) that are not bilingual.
_LABELS = {
    "Actions overdue": _l("Actions overdue"), "All approved?": _l("All approved?"),
    "Analyse impact over master data": _l("Analyse impact over master data"),
    "Apply dispositions, release holds, close": _l("Apply dispositions, release holds, close"),
    "Approvals collected": _l("Approvals collected"), "Approved?": _l("Approved?"),
    "Assemble risky events and chain head": _l("Assemble risky events and chain head"),
    "CAPA": _l("CAPA"), "CAPA closed": _l("CAPA closed"), "CAPA needed": _l("CAPA needed"),
    "CAPA required?": _l("CAPA required?"), "Change closed": _l("Change closed"),
    "Change needed": _l("Change needed"), "Change withdrawn": _l("Change withdrawn"),
    "Close CAPA": _l("Close CAPA"), "Close change": _l("Close change"),
    "Close or reopen?": _l("Close or reopen?"),
    "Compute exceptions (review by exception)": _l("Compute exceptions (review by exception)"),
    "Deviation closed": _l("Deviation closed"), "Deviation reported": _l("Deviation reported"),
    "Effective date reached": _l("Effective date reached"),
    "Effectiveness period elapsed": _l("Effectiveness period elapsed"),
    "Fix effective date": _l("Fix effective date"), "Hand over to CAPA": _l("Hand over to CAPA"),
    "Lot completed": _l("Lot completed"), "Lot rejected": _l("Lot rejected"), "Lot released": _l("Lot released"),
    "Open CAPA record": _l("Open CAPA record"), "Plan approved?": _l("Plan approved?"),
    "Put affected lots on hold": _l("Put affected lots on hold"),
    "Record analysis and plan": _l("Record analysis and plan"),
    "Record exception dispositions": _l("Record exception dispositions"),
    "Record implementation": _l("Record implementation"), "Record new due date": _l("Record new due date"),
    "Record proposed dispositions": _l("Record proposed dispositions"),
    "Record review, raise deviations, schedule next": _l("Record review, raise deviations, schedule next"),
    "Record risk assessment": _l("Record risk assessment"),
    "Regulatory notification flagged?": _l("Regulatory notification flagged?"),
    "Reject lot": _l("Reject lot"), "Release decision": _l("Release decision"), "Release lot": _l("Release lot"),
    "Release new revisions, obsolete old": _l("Release new revisions, obsolete old"),
    "Reopen CAPA": _l("Reopen CAPA"), "Request approvals": _l("Request approvals"),
    "Return change to requester": _l("Return change to requester"),
    "Review period ended": _l("Review period ended"), "Review recorded": _l("Review recorded"),
    "Severity reported?": _l("Severity reported?"), "Submit or withdraw?": _l("Submit or withdraw?"),
    "Withdraw change request": _l("Withdraw change request"),
    # sequence-flow conditions
    "approved": _l("approved"), "close": _l("close"), "no": _l("no"), "reject": _l("reject"),
    "rejected": _l("rejected"), "release": _l("release"), "reopen": _l("reopen"),
    "return for re-review": _l("return for re-review"), "submit": _l("submit"), "withdraw": _l("withdraw"),
    "yes": _l("yes"),
}


def label(name: str, *, lane: bool = False) -> str:
    """One element's name in the reader's language (unknown names are shown as written)."""
    if " / " in name:
        return bilingual(name)
    if lane:
        return role_label(name)
    known = _LABELS.get(name) if current_language() == "zh_CN" else None
    return str(known) if known is not None else name


def for_viewer(xml: str) -> str:
    """``xml`` with its element names in the reader's language: a bilingual name shows the reader's
    half and a lane its role's label in English too; other names are translated for Chinese readers."""
    root = xmlsafe.parse(xml.encode("utf-8"), "diagram.bpmn")
    for el in root.iter():
        if not isinstance(el.tag, str) or etree.QName(el).namespace != BPMN or not el.get("name"):
            continue
        el.set("name", label(el.get("name"), lane=etree.QName(el).localname == "lane"))
    return etree.tostring(root, encoding="unicode")
