"""The main navigation: areas register their entries, the base layout shows those the user may use."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

from web.authz import may_use
from web.security import has_role


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy gettext string
    roles: tuple[str, ...] = ()  # narrower than the endpoint's rule (web.authz), which always applies
    key: str = ""  # the ``active_nav`` value that highlights this entry
    order: int = 100


_DEFAULT = (
    NavItem("inbox.index", _l("Inbox"), key="inbox", order=10),
    NavItem("instances.index", _l("Processes"), key="instances", order=20),
    NavItem("lots.index", _l("Lots"), key="lots", order=30),
    NavItem("starts.index", _l("New"), key="starts", order=5),
    NavItem("station.index", _l("Shop floor"), key="station", order=35),
    NavItem("calibration.index", _l("Calibration"), key="calibration", order=36),
    NavItem("planning.index", _l("Planning"), key="planning", order=34),
    NavItem("competence.index", _l("Training"), key="competence", order=37),
    NavItem("masterdata.index", _l("Master data"), key="masterdata", order=40),
    NavItem("editor.index", _l("BPMN editor"), key="editor", order=60),
    # Process engineers reach the tables from the BPMN editor (one entry less in their bar).
    NavItem("decision_editor.index", _l("Decision tables"), roles=("qa_manager",), key="decisions", order=61),
    NavItem("auditor.index", _l("Audit trail"), key="auditor", order=70),
    NavItem("admin.data_dictionary", _l("Data dictionary"), key="admin", order=80),
    NavItem("notifications.admin_index", _l("Notifications"), key="notifications", order=82),
)


def add_nav(app: Flask, item: NavItem) -> None:
    """Add an entry to the main navigation (other areas call this from their ``init``)."""
    app.extensions.setdefault("sealtrail.nav", list(_DEFAULT)).append(item)


def visible_items() -> list[NavItem]:
    """Entries whose endpoint exists and whose authorization rule (and roles) let the user in."""
    items = current_app.extensions.get("sealtrail.nav", list(_DEFAULT))
    endpoints = current_app.view_functions
    return [i for i in sorted(items, key=lambda i: i.order)
            if i.endpoint in endpoints and may_use(i.endpoint) and (not i.roles or has_role(*i.roles))]


def init_nav(app: Flask) -> None:
    app.extensions.setdefault("sealtrail.nav", list(_DEFAULT))
    app.jinja_env.globals["nav_items"] = visible_items
    app.jinja_env.globals["has_endpoint"] = lambda name: name in current_app.view_functions
