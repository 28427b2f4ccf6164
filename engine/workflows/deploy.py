"""Deploying BPMN as immutable process versions (validated first; a bad file never becomes one)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from audit import chain
from engine.errors import DeploymentRefused, NotFound
from engine.workflows import serializer, specs
from engine.workflows.models import ProcessVersion
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


def validate_documents(session, documents: list[specs.Document], *,
                       max_bytes: int = DEFAULT_MAX_BYTES) -> specs.Validation:
    """Validate documents against our rules, resolving call activities to deployed processes."""
    known = _known_documents(session, set()) if session is not None else {}
    return specs.validate(documents, known=known, max_bytes=max_bytes)


@dataclass
class DeployResult:
    """What a deployment did: new versions, processes whose content was unchanged, problems."""

    deployed: list[ProcessVersion] = field(default_factory=list)
    unchanged: list[ProcessVersion] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def deploy(session, actor, documents: list[specs.Document], *, comment: str | None = None,
           skip_unchanged: bool = False, max_bytes: int = DEFAULT_MAX_BYTES) -> DeployResult:
    """Validate ``documents`` and store each executable process as a new version (audited).

    Raises DeploymentRefused (details: file, element id, line, reason) when any document is
    invalid; nothing is stored then. With ``skip_unchanged`` a process whose latest version has
    the same content hash is left alone.
    """
    validation = validate_documents(session, documents, max_bytes=max_bytes)
    if not validation.ok:
        raise DeploymentRefused(
            f"{len(validation.problems)} problem(s): " + "; ".join(map(str, validation.problems[:5])),
            details=[{"field": f"{p.file}:{p.line or ''}:{p.element_id or ''}", "message": p.reason,
                      **p.as_dict()} for p in validation.problems])
    result = DeployResult()
    latest = {pid: latest_version(session, pid) for pid in validation.processes}
    changed = {pid for pid, parsed in validation.processes.items()
               if latest[pid] is None or latest[pid].content_sha256 != parsed.document.sha256}
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
        serializer.SPECS.put(session, version.id, parsed.spec, parsed.subprocess_specs)
        chain.append(session, actor, "workflow.process_deployed", "process_version", f"{pid}:v{version.version}",
                     reason=comment,
                     after={"process_id": pid, "version": version.version, "file": version.file_name,
                            "content_sha256": version.content_sha256, "name": version.name,
                            "calls": sorted(parsed.subprocess_specs)})
        result.deployed.append(version)
    return result


def shipped_bpmn_dir() -> Path:
    """The directory of the diagrams shipped with Sealtrail (``bpmn/`` at the project root)."""
    return Path(__file__).resolve().parents[2] / "bpmn"


def deploy_all_shipped(session, actor, directory: Path | None = None) -> DeployResult:
    """Deploy every ``*.bpmn`` in ``directory`` (default: the shipped ``bpmn/``), skipping files
    whose content is already the latest version. Files are validated together (call activities
    across files resolve); an invalid set is reported in ``problems`` and nothing is deployed."""
    directory = directory or shipped_bpmn_dir()
    documents = [specs.Document(p.name, p.read_bytes()) for p in sorted(directory.glob("*.bpmn"))]
    if not documents:
        return DeployResult()
    try:
        return deploy(session, actor, documents, comment="shipped with Sealtrail", skip_unchanged=True)
    except DeploymentRefused:
        return DeployResult(problems=validate_documents(session, documents).problems)
