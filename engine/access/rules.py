"""Who may use what: one named rule per resource, checked the same way for pages, the JSON API
and the CLI.

Every web route declares one of these names (``web.authz``); a route without a declaration is
refused, and ``tests/web/test_web_authz_matrix.py`` builds its role × endpoint matrix from the
route table, so a new route cannot ship without a rule. Object-level visibility (which instances
and tasks a user sees) lives next to its data in ``engine.workflows.visibility``.

``admin`` holds every role. API tokens carry scopes instead of roles (``engine.access.tokens``):
the API checks a token's scope, a browser session's roles against the rule.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.errors import Forbidden
from engine.users.models import ROLES


@dataclass(frozen=True)
class Rule:
    """A resource's rule: ``roles`` may use it (``None``: every signed-in user; public: no sign-in)."""

    name: str
    roles: frozenset[str] | None = None
    public: bool = False
    description: str = ""


def _rule(name: str, roles: Iterable[str] | None = None, *, public: bool = False, description: str = "") -> Rule:
    unknown = set(roles or ()) - set(ROLES)
    if unknown:
        raise ValueError(f"rule {name!r} names unknown roles {sorted(unknown)}")
    return Rule(name, frozenset(roles) if roles is not None else None, public, description)


# The rules, by resource. Add a rule here (with a line saying what it guards) when a new area
# needs one; docs/architecture.md ("Authorization") says how routes declare them.
RULES: dict[str, Rule] = {r.name: r for r in (
    _rule("public", public=True, description="no sign-in: sign-in page, language, health probes, API docs"),
    _rule("signed_in", description="any signed-in user: own account, home, inbox, lots, master data, traceability"),
    _rule("processes", description="process instances and tasks: any signed-in user, filtered per "
                                   "object by engine.workflows.visibility"),
    _rule("audit_trail", ("auditor", "qa_manager"),
          description="the audit trail, signature register, chain verification and export"),
    _rule("bpmn.edit", ("process_engineer",), description="BPMN editor: validate, deploy, compare versions"),
    _rule("bpmn.deploy_route", ("qa_manager",),
          description="route a process's deploys through change control, or back to direct signature (#14)"),
    _rule("bpmn.migrate", ("qa_manager",),
          description="move a process's running instances to another version: dry-run report, signed bulk move"),
    _rule("dmn.edit", ("process_engineer", "qa_manager"),
          description="decision-table editor: validate, try, deploy (signed), compare table versions"),
    _rule("masterdata.edit", ("process_engineer",), description="start master-data draft revisions"),
    _rule("floor.run", ("operator", "production_manager"),
          description="the station at the line: start operations behind the interlocks, record values, finish"),
    _rule("floor.lots", ("production_manager",), description="plan, start and complete lots"),
    _rule("floor.serials", ("operator", "production_manager"),
          description="serialised components at the line: record a component lot's serials, scan component "
                      "serials into a finished unit (#18)"),
    _rule("floor.inspections", ("operator", "qa_engineer", "qa_manager"), description="record inspection results"),
    _rule("equipment.log", ("process_engineer", "production_manager", "qa_engineer"),
          description="record calibration, maintenance, breakdown and repair of equipment"),
    _rule("training.record", ("process_engineer", "production_manager", "qa_engineer", "qa_manager"),
          description="record training on document revisions"),
    _rule("notifications.admin", ("admin",),
          description="notification channels (webhooks), directory group → role mapping, outbox, test-send"),
    _rule("data_dictionary", ("qa_manager", "auditor", "regulatory"),
          description="the generated data dictionary: tables, columns, flags, masking rules, drift"),
    _rule("planning", ("production_manager", "process_engineer", "qa_manager"),
          description="production plans: versions, Gantt per work centre, lots not placed and why"),
    _rule("delegations", description="the delegations page: a person delegates their own roles (signed) and "
                                     "revokes them; administrators for anyone (engine.delegations.acting)"),
    _rule("share.view", ("qa_manager", "regulatory"),
          description="a sharing profile's masked view through the API: tokens bound to the profile (#18), "
                      "and the people who share records previewing what a recipient sees"),
    _rule("share_profiles", ("qa_manager", "regulatory", "process_engineer", "auditor"),
          description="sharing profiles: released revisions, history, open draft and its difference (#18)"),
    _rule("share_profiles.edit", ("qa_manager", "regulatory", "process_engineer"),
          description="save a sharing profile's draft (checked by the profile parser, audited) (#18)"),
    _rule("share_profiles.submit", ("process_engineer",),
          description="propose a sharing profile's draft for release: opens a signed change request (#18)"),
    _rule("api.scoped", description="API operations whose token scope decides (sessions: web.api.auth.ROLE_SCOPES)"),
)}


def get_rule(name: str) -> Rule:
    """The rule ``name``; KeyError names the unknown rule (a typo in a declaration fails loudly)."""
    try:
        return RULES[name]
    except KeyError:
        raise KeyError(f"no authorization rule named {name!r}; known: {sorted(RULES)}") from None


def allows(name: str, roles: Iterable[str] | None, *, signed_in: bool = True) -> bool:
    """True when a caller holding ``roles`` (signed in or not) may use the resource ``name``."""
    rule = get_rule(name)
    if rule.public:
        return True
    if not signed_in:
        return False
    if rule.roles is None:
        return True
    held = set(roles or ())
    return "admin" in held or bool(held & rule.roles)


def require(name: str, roles: Iterable[str] | None) -> None:
    """Raise Forbidden unless a signed-in caller with ``roles`` may use ``name``."""
    if not allows(name, roles):
        raise Forbidden(f"this needs one of the roles {sorted(get_rule(name).roles or ())}", field="role")
