"""Deploying BPMN and DMN as immutable versions (validated first; a bad file never becomes one).

A process version pins the decision-table versions its business-rule tasks run: deploying a
changed table redeploys every process that uses it (from its latest deployed BPMN, when that is
not among the files), so that each new process version records exactly which tables it runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from audit import chain
from engine.db import utcnow
from engine.errors import DeploymentRefused, NotFound, ValidationFailed
from lxml import etree

from engine.workflows import form_versions, serializer, specs, xmlsafe
from engine.workflows.decisions import decisions_used
from engine.workflows.models import DecisionVersion, DeployRoute, ProcessDecision, ProcessVersion
from engine.workflows.xmlsafe import DEFAULT_MAX_BYTES, Problem


def latest_version(session, process_id: str) -> ProcessVersion | None:
    """The newest deployed version of ``process_id``, or None."""
    return session.scalars(select(ProcessVersion).where(ProcessVersion.process_id == process_id)
                           .order_by(ProcessVersion.version.desc()).limit(1)).first()


def get_latest_version(session, process_id: str) -> ProcessVersion:
    """The newest deployed version of ``process_id``; NotFound when none is deployed."""
    found = latest_version(session, process_id)
    if found is None:
        raise NotFound(f"process {process_id!r} is not deployed", obj=process_id)
    return found


def list_versions(session, process_id: str | None = None) -> list[ProcessVersion]:
    """Deployed versions (of one process, or all), newest first."""
    query = select(ProcessVersion).order_by(ProcessVersion.process_id, ProcessVersion.version.desc())
    if process_id:
        query = query.where(ProcessVersion.process_id == process_id)
    return list(session.scalars(query))


def _known_documents(session, exclude: set[str]) -> dict[str, specs.Document]:
    """Latest deployed documents by process id (to resolve call activities across files)."""
    newest = (select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("v"))
              .group_by(ProcessVersion.process_id).subquery())
    rows = session.execute(select(ProcessVersion.process_id, ProcessVersion.file_name, ProcessVersion.bpmn_xml)
                           .join(newest, (newest.c.process_id == ProcessVersion.process_id)
                                 & (newest.c.v == ProcessVersion.version)))
    return {pid: specs.Document(fname, xml.encode("utf-8")) for pid, fname, xml in rows if pid not in exclude}


def latest_decision(session, decision_id: str) -> DecisionVersion | None:
    """The newest deployed version of decision ``decision_id``, or None."""
    return session.scalars(select(DecisionVersion).where(DecisionVersion.decision_id == decision_id)
                           .order_by(DecisionVersion.version.desc()).limit(1)).first()


def list_decisions(session) -> list[DecisionVersion]:
    """Every deployed decision version, newest first within each decision."""
    return list(session.scalars(select(DecisionVersion).order_by(DecisionVersion.decision_id,
                                                                 DecisionVersion.version.desc())))


def _known_decisions(session) -> dict[str, specs.Document]:
    """Latest deployed DMN documents by decision id (business-rule tasks may use them)."""
    newest = (select(DecisionVersion.decision_id, func.max(DecisionVersion.version).label("v"))
              .group_by(DecisionVersion.decision_id).subquery())
    rows = session.execute(select(DecisionVersion.decision_id, DecisionVersion.file_name, DecisionVersion.dmn_xml)
                           .join(newest, (newest.c.decision_id == DecisionVersion.decision_id)
                                 & (newest.c.v == DecisionVersion.version)))
    return {did: specs.Document(fname, xml.encode("utf-8")) for did, fname, xml in rows}


def validate_documents(session, documents: list[specs.Document], *,
                       max_bytes: int = DEFAULT_MAX_BYTES) -> specs.Validation:
    """Validate documents against our rules, resolving call activities to deployed processes and
    business-rule tasks to deployed decisions."""
    known = _known_documents(session, set()) if session is not None else {}
    decisions = _known_decisions(session) if session is not None else {}
    drafts = form_versions.draft_forms(session) if session is not None else None
    return specs.validate(documents, known=known, known_decisions=decisions, max_bytes=max_bytes,
                          draft_forms=drafts)


def pin_form_versions(session, documents: list[specs.Document], max_bytes: int) -> list[specs.Document]:
    """The documents with each unpinned form that has stored versions pinned to its latest
    (``name@version``); a document without such a form is passed on byte for byte."""
    out = []
    for doc in documents:
        try:
            root = xmlsafe.parse(doc.content, doc.file_name, max_bytes=max_bytes)
        except xmlsafe.XmlRefused:
            out.append(doc)  # the validation reports it
            continue
        if form_versions.pin_forms(session, root):
            doc = specs.Document(doc.file_name, etree.tostring(root.getroottree(), xml_declaration=True,
                                                               encoding="UTF-8"))
        out.append(doc)
    return out


def _users_of(session, decision_ids: set[str]) -> list[ProcessVersion]:
    """The latest version of every process whose latest version pins one of ``decision_ids``."""
    if not decision_ids:
        return []
    newest = (select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("v"))
              .group_by(ProcessVersion.process_id).subquery())
    return list(session.scalars(
        select(ProcessVersion).join(newest, (newest.c.process_id == ProcessVersion.process_id)
                                    & (newest.c.v == ProcessVersion.version))
        .join(ProcessDecision, ProcessDecision.process_version_id == ProcessVersion.id)
        .where(ProcessDecision.decision_id.in_(decision_ids)).distinct()))


def _refuse(validation: specs.Validation) -> None:
    if not validation.ok:
        raise DeploymentRefused(
            f"{len(validation.problems)} problem(s): " + "; ".join(map(str, validation.problems[:5])),
            details=[{"field": f"{p.file}:{p.line or ''}:{p.element_id or ''}", "message": p.reason,
                      **p.as_dict()} for p in validation.problems])


def _changed_decisions(session, validation: specs.Validation) -> dict[str, DecisionVersion | None]:
    """Decision id -> latest deployed version, for the tables whose content differs from it."""
    latest = {did: latest_decision(session, did) for did in validation.decisions}
    return {did: latest[did] for did, parsed in validation.decisions.items()
            if latest[did] is None or latest[did].content_sha256 != parsed.document.sha256}


def _store_decision(session, actor, parsed: specs.ParsedDecision, previous: DecisionVersion | None,
                    comment: str | None) -> DecisionVersion:
    table = parsed.table
    version = DecisionVersion(
        decision_id=parsed.decision_id, version=(previous.version + 1) if previous else 1, name=parsed.name,
        file_name=parsed.document.file_name, dmn_xml=parsed.document.content.decode("utf-8"),
        content_sha256=parsed.document.sha256, hit_policy=table.hit_policy, rule_count=len(table.rows),
        deployed_by_id=actor.id, deployed_by_name=actor.name, comment=comment)
    session.add(version)
    session.flush()
    chain.append(session, actor, "workflow.decision_deployed", "decision_version",
                 f"{parsed.decision_id}:v{version.version}", reason=comment,
                 after={"decision_id": parsed.decision_id, "version": version.version, "file": version.file_name,
                        "content_sha256": version.content_sha256, "name": version.name,
                        "hit_policy": table.hit_policy, "rules": [r.id for r in table.rows],
                        "tests": [t.id for t in table.tests],
                        "previous_sha256": previous.content_sha256 if previous else None})
    return version


def extra_processes(validation: specs.Validation, process_id: str) -> list[str]:
    """The executable processes in a validated set other than ``process_id``."""
    return sorted(pid for pid in validation.processes if pid != process_id)


def check_single_process(validation: specs.Validation, process_id: str) -> None:
    """DeploymentRefused unless the validated set holds exactly the process ``process_id``."""
    extra = extra_processes(validation, process_id) + sorted(validation.decisions)
    if process_id not in validation.processes:
        raise DeploymentRefused(f"the diagram does not contain the process {process_id}", field="processes",
                                details=[{"field": "processes", "code": "missing_process", "processes": [process_id],
                                          "message": f"the diagram does not contain the process {process_id}"}])
    if extra:
        message = (f"the diagram also contains the process(es) {', '.join(extra)}; a deployment of "
                   f"{process_id} deploys that process only")
        raise DeploymentRefused(message, field="processes", details=[
            {"field": "processes", "code": "extra_processes", "processes": extra, "message": message}])


def via_change_control(session, process_id: str) -> bool:
    """Whether deploys of ``process_id`` are routed through change control (#14; default: signed directly)."""
    route = session.get(DeployRoute, process_id)
    return bool(route and route.via_change_control)


def set_deploy_route(session, actor, process_id: str, *, via_change_control: bool, reason: str) -> DeployRoute:
    """Route deploys of ``process_id`` through change control, or back to direct signature (audited).
    Authorization (QA manager) is the caller's: rule ``bpmn.deploy_route``."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("say why the deploy route changes", field="reason")
    get_latest_version(session, process_id)
    route = session.get(DeployRoute, process_id)
    before = {"via_change_control": bool(route and route.via_change_control)}
    if route is None:
        route = DeployRoute(process_id=process_id)
        session.add(route)
    route.via_change_control = bool(via_change_control)
    route.changed_by_id, route.changed_by_name = actor.id, actor.name
    route.changed_at = utcnow()
    session.flush()
    chain.append(session, actor, "workflow.deploy_route_changed", "deploy_route", process_id, before=before,
                 after={"via_change_control": route.via_change_control}, reason=reason[:2000])
    return route


def prepare_single(session, document: specs.Document, process_id: str, *,
                   max_bytes: int = DEFAULT_MAX_BYTES) -> specs.Document:
    """The document as :func:`deploy` with ``only_process`` would store it (form versions pinned),
    validated; DeploymentRefused otherwise. Nothing is stored."""
    [document] = pin_form_versions(session, [document], max_bytes)
    validation, _ = _with_users(session, [document], max_bytes)
    check_single_process(validation, process_id)
    return document


@dataclass
class DeployResult:
    """What a deployment did: new versions, processes whose content was unchanged, problems."""

    deployed: list[ProcessVersion] = field(default_factory=list)
    unchanged: list[ProcessVersion] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    decisions_deployed: list[DecisionVersion] = field(default_factory=list)
    decisions_unchanged: list[DecisionVersion] = field(default_factory=list)
    # Deployed versions a shipped file differs from (content never deployed): for a person to review.
    newer_shipped: list[ProcessVersion | DecisionVersion] = field(default_factory=list)


def _with_users(session, documents: list[specs.Document], max_bytes: int):
    """Validate ``documents``, adding the deployed BPMN of processes that use a changed table."""
    validation = validate_documents(session, documents, max_bytes=max_bytes)
    _refuse(validation)
    users = [v for v in _users_of(session, set(_changed_decisions(session, validation)))
             if v.process_id not in validation.processes]
    if not users:
        return validation, documents
    names = {d.file_name for d in documents}
    extra = {v.file_name: specs.Document(v.file_name, v.bpmn_xml.encode("utf-8")) for v in users
             if v.file_name not in names}
    documents = documents + list(extra.values())
    validation = validate_documents(session, documents, max_bytes=max_bytes)
    _refuse(validation)
    return validation, documents


def deploy(session, actor, documents: list[specs.Document], *, comment: str | None = None,
           skip_unchanged: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
           only_process: str | None = None) -> DeployResult:
    """Validate ``documents`` and store each executable process and decision table as a new
    version (audited); each process version pins the table versions it runs.

    Raises DeploymentRefused (details: file, element id, line, reason) when any document is
    invalid; nothing is stored then. With ``skip_unchanged`` a process whose latest version has
    the same content hash (and runs no changed table) is left alone. With ``only_process`` (a
    deployment one signature approves) the documents must hold exactly that process and no
    decision table: anything else is refused, so nothing is deployed that the signature does
    not name.
    """
    documents = pin_form_versions(session, documents, max_bytes)
    validation, documents = _with_users(session, documents, max_bytes)
    if only_process is not None:
        check_single_process(validation, only_process)
    result = DeployResult()
    changed_tables = _changed_decisions(session, validation)
    tables: dict[str, DecisionVersion] = {}
    for did, parsed in validation.decisions.items():
        if did in changed_tables:
            tables[did] = _store_decision(session, actor, parsed, changed_tables[did], comment)
            result.decisions_deployed.append(tables[did])
        else:
            tables[did] = latest_decision(session, did)
            result.decisions_unchanged.append(tables[did])
    latest = {pid: latest_version(session, pid) for pid in validation.processes}
    uses = {pid: decisions_used(p.spec, p.subprocess_specs) for pid, p in validation.processes.items()}
    changed = {pid for pid, parsed in validation.processes.items()
               if latest[pid] is None or latest[pid].content_sha256 != parsed.document.sha256
               or uses[pid] & set(changed_tables)}
    grew = True
    while grew:  # a caller is redeployed when a process it calls is: call activities are pinned
        callers = {pid for pid, parsed in validation.processes.items() if set(parsed.subprocess_specs) & changed}
        grew = not callers <= changed
        changed |= callers
    for pid, parsed in validation.processes.items():
        if skip_unchanged and pid not in changed:
            result.unchanged.append(latest[pid])
            continue
        version = ProcessVersion(
            process_id=pid, version=(latest[pid].version + 1) if latest[pid] else 1, name=parsed.name,
            file_name=parsed.document.file_name, bpmn_xml=parsed.document.content.decode("utf-8"),
            content_sha256=parsed.document.sha256,
            spec_json=serializer.spec_to_json(parsed.spec, parsed.subprocess_specs),
            spiff_version=serializer.SPIFF_VERSION, serializer_version=serializer.SERIALIZER_VERSION,
            deployed_by_id=actor.id, deployed_by_name=actor.name, comment=comment)
        session.add(version)
        session.flush()
        pins = {did: tables.get(did) or latest_decision(session, did) for did in sorted(uses[pid])}
        for did, table in pins.items():
            session.add(ProcessDecision(process_version_id=version.id, decision_id=did,
                                        decision_version_id=table.id))
        serializer.SPECS.put(session, version.id, parsed.spec, parsed.subprocess_specs)
        chain.append(session, actor, "workflow.process_deployed", "process_version", f"{pid}:v{version.version}",
                     reason=comment,
                     after={"process_id": pid, "version": version.version, "file": version.file_name,
                            "content_sha256": version.content_sha256, "name": version.name,
                            "calls": sorted(parsed.subprocess_specs),
                            "decisions": {did: t.version for did, t in pins.items()}})
        result.deployed.append(version)
    session.flush()
    return result


# The deployment comment of the shipped diagrams (pages show it in the reader's language).
SHIPPED_COMMENT = "shipped with Sealtrail"


def shipped_bpmn_dir() -> Path:
    """The directory of the diagrams shipped with Sealtrail (``bpmn/`` at the project root)."""
    return Path(__file__).resolve().parents[2] / "bpmn"


def deploy_all_shipped(session, actor, directory: Path | None = None) -> DeployResult:
    """Deploy the shipped processes and decision tables that have no version yet; report the others.

    Shipped files (``*.bpmn``, ``*.dmn`` in ``directory``, default the shipped ``bpmn/``) are
    installed once (``sealtrail init`` on a new installation). A process or table that already has
    a version is never redeployed from the shipped file, whatever its content: its latest version
    may be a person's signed deployment, and replacing it would silently change what new instances
    run. A shipped file whose content was never deployed is listed in ``newer_shipped`` for a
    person to review and deploy. Files are validated together (call activities and decisions
    across files resolve); an invalid set is reported in ``problems`` and nothing is deployed.
    """
    directory = directory or shipped_bpmn_dir()
    documents = [specs.Document(p.name, p.read_bytes())
                 for p in sorted([*directory.glob("*.bpmn"), *directory.glob("*.dmn")])]
    if not documents:
        return DeployResult()
    validation = validate_documents(session, documents)
    if not validation.ok:
        return DeployResult(problems=validation.problems)
    processes = {pid: (parsed.document, latest_version(session, pid), ProcessVersion.process_id == pid)
                 for pid, parsed in validation.processes.items()}
    tables = {did: (parsed.document, latest_decision(session, did), DecisionVersion.decision_id == did)
              for did, parsed in validation.decisions.items()}
    new_files = {doc.file_name for doc, latest, _ in [*processes.values(), *tables.values()] if latest is None}
    result = DeployResult()
    if new_files:
        result = deploy(session, actor, [d for d in documents if d.file_name in new_files],
                        comment=SHIPPED_COMMENT, skip_unchanged=True)
    for model, entries in ((ProcessVersion, processes), (DecisionVersion, tables)):
        for _, (document, latest, same_id) in sorted(entries.items()):
            if latest is None or document.file_name in new_files:
                continue
            seen = set(session.scalars(select(model.content_sha256).where(same_id)))
            if document.sha256 not in seen:
                result.newer_shipped.append(latest)
            elif model is ProcessVersion:
                result.unchanged.append(latest)
            else:
                result.decisions_unchanged.append(latest)
    return result
