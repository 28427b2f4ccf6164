"""Sharing packages: the records a profile allows, masked by the data dictionary's rules,
encrypted to the recipient's age public key and signed with the installation's Ed25519 key.

A package is a ZIP holding ``manifest.json`` (what, for whom, the SHA-256 of the ciphertext, the
signer's public key), ``manifest.sig`` (Ed25519 over the manifest's bytes, base64) and
``payload.age`` (the masked records as JSON, age-encrypted). ``python -m audit.verify_share``
checks and opens it with nothing of ours. Creating one is audited (who shared what with whom and
why) in the caller's transaction; the CLI has the person sign it.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import json
import uuid
import zipfile
from dataclasses import dataclass

import pyrage
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import Actor, chain
from audit.checkpoints import key_id, public_key_pem
from engine.errors import NotFound, ValidationFailed
from engine.governance import share_records
from engine.governance.dictionary import build_dictionary
from engine.governance.masking import Masker, Person
from engine.governance.profiles import Profile

FORMAT = "sealtrail-share/1"
MAX_RECIPIENT_CHARS = 200
MAX_REASON_CHARS = 2000


@dataclass(frozen=True)
class SharePackage:
    """A built package: ``data`` is the file to hand over."""

    package_id: str
    data: bytes
    manifest: dict
    record_counts: dict[str, int]


def parse_recipient(text: str):
    """The recipient's age X25519 public key (``age1…``), or ValidationFailed naming the field."""
    text = (text or "").strip()
    if not text or len(text) > MAX_RECIPIENT_CHARS:
        raise ValidationFailed("give the recipient's age public key (age1…)", field="recipient_key")
    try:
        return pyrage.x25519.Recipient.from_str(text)
    except Exception:  # pyrage raises a bare ValueError-like error for any malformed key
        raise ValidationFailed("the recipient key is not an age X25519 public key (age1…)",
                               field="recipient_key") from None


def _collect(session: Session, profile: Profile, selector: tuple[str, str]):
    kind, value = selector
    if kind not in profile.selectors:
        raise ValidationFailed(f"the {profile.name} profile is selected by {', '.join(profile.selectors)}, "
                               f"not by {kind}", field=kind)
    if kind == "lot":
        return share_records.lot_records(session, profile, value)
    if kind == "change":
        return share_records.change_records(session, value)
    return share_records.period_records(session, value)


def _pseudonym_key(signing_key: Ed25519PrivateKey, package_id: str) -> bytes:
    # Derived from the installation's key and the package id: stable within a package, unrelated
    # between packages, and the manufacturer (only) can recompute it to answer a recipient's question.
    raw = signing_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                    serialization.NoEncryption())
    return hmac.new(raw, b"sealtrail-share-pseudonyms:" + package_id.encode(), hashlib.sha256).digest()


def _zip(created_at: dt.datetime, files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    stamp = created_at.astimezone(dt.timezone.utc).timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=stamp), data)
    return buffer.getvalue()


@dataclass(frozen=True)
class MaskedView:
    """The records a profile allows for one selector, masked (what a package's payload holds)."""

    selector: dict
    records: dict[str, list[dict]]
    dictionary: dict[str, dict]
    masker: Masker

    @property
    def record_counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.records.items()}


def masked_view(session: Session, profile: Profile, selector: tuple[str, str], *, pseudonym_key: bytes,
                recipient: str | None = None) -> MaskedView:
    """The masked records ``profile`` allows for ``selector`` (read only).

    ``recipient``: for a profile rooted in purchased lots, the supplier the view is for — a lot
    of another supplier is not found (the caller learns nothing about it).
    """
    ids, resolved = _collect(session, profile, selector)
    if recipient is not None and profile.root == "purchased":
        wanted = recipient.strip().casefold()
        if not any(s.strip().casefold() == wanted for s in share_records.suppliers_of(session, ids["supplier_lots"])):
            raise NotFound(f"no lot {selector[1]!r} of {recipient}", field=selector[0])
    users = share_records.table("users").c
    people = [Person(*row) for row in session.execute(select(users.id, users.username, users.printed_name))]
    own_supplier_lots = ids.get("supplier_lots", set()) if "supplier_lots" in profile.tables else set()
    masker = Masker(pseudonym_key, people, redact=share_records.supplier_names(session, own_supplier_lots))
    entries = {t.name: {c.name: c for c in t.columns} for t in build_dictionary().tables}
    records, dictionary = {}, {}
    for name, columns in profile.tables.items():
        rows = share_records.fetch_rows(session, name, columns, ids.get(name, set()))
        records[name] = [masker.row(r, entries[name]) for r in rows]
        dictionary[name] = {c: {"meaning": entries[name][c].meaning, "unit": entries[name][c].unit,
                                "mask": entries[name][c].mask} for c in columns if entries[name][c].mask != "remove"}
    return MaskedView(selector=resolved, records=records, dictionary=dictionary, masker=masker)


def token_pseudonym_key(signing_key: Ed25519PrivateKey, token_public_id: str) -> bytes:
    """The pseudonym key of an API token's view: stable for that token, unrelated to any other."""
    return _pseudonym_key(signing_key, f"api-token:{token_public_id}")


def create_share(session: Session, actor: Actor, profile: Profile, selector: tuple[str, str], *,
                 recipient_key: str, reason: str, signing_key: Ed25519PrivateKey, now: dt.datetime,
                 installation_id: str = "") -> SharePackage:
    """Build, encrypt and sign a package of ``profile``'s records and audit it (flush, no commit)."""
    recipient = parse_recipient(recipient_key)
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON_CHARS:
        raise ValidationFailed(f"say why the records are shared (1 to {MAX_REASON_CHARS} characters)", field="reason")
    package_id = str(uuid.uuid4())
    view = masked_view(session, profile, selector, pseudonym_key=_pseudonym_key(signing_key, package_id))
    records, dictionary, resolved, masker = view.records, view.dictionary, view.selector, view.masker
    counts = {name: len(rows) for name, rows in records.items()}
    created_at = now.astimezone(dt.timezone.utc).isoformat()
    payload = {"format": FORMAT, "package_id": package_id, "profile": profile.name,
               "profile_revision": profile.revision, "selector": resolved,
               "created_at": created_at, "reason": masker.scan(reason), "dictionary": dictionary,
               "records": records}
    ciphertext = pyrage.encrypt(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8"),
                                [recipient])
    manifest = {"format": FORMAT, "package_id": package_id, "profile": profile.name,
                "profile_revision": profile.revision, "profile_sha256": profile.sha256,
                "selector": {selector[0]: selector[1]}, "created_at": created_at,
                "installation_id": installation_id, "recipient": str(recipient),
                "payload": {"file": "payload.age", "sha256": hashlib.sha256(ciphertext).hexdigest(),
                            "bytes": len(ciphertext)},
                "record_counts": counts, "signer": {"key_id": key_id(signing_key),
                                                    "public_key_pem": public_key_pem(signing_key)}}
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=2).encode("utf-8")
    signature = base64.b64encode(signing_key.sign(manifest_bytes))
    data = _zip(now, {"manifest.json": manifest_bytes, "manifest.sig": signature, "payload.age": ciphertext})
    chain.append(session, actor, "share.created", "share_package", package_id, reason=reason,
                 after={"profile": profile.name, "profile_revision": profile.revision,
                        "profile_sha256": profile.sha256, "selector": manifest["selector"],
                        "recipient": str(recipient), "payload_sha256": manifest["payload"]["sha256"],
                        "package_sha256": hashlib.sha256(data).hexdigest(), "record_counts": counts,
                        "key_id": manifest["signer"]["key_id"]})
    return SharePackage(package_id=package_id, data=data, manifest=manifest, record_counts=counts)


def read_view(session: Session, actor: Actor, profile: Profile, selector: tuple[str, str], *,
              pseudonym_key: bytes, recipient: str | None = None) -> dict:
    """A profile's masked view read by a client (an API token bound to the profile, or a person
    previewing it): the records, and an audit entry saying who read what, for whom (flush, no commit)."""
    view = masked_view(session, profile, selector, pseudonym_key=pseudonym_key, recipient=recipient)
    body = {"format": FORMAT, "profile": profile.name, "profile_revision": profile.revision,
            "profile_sha256": profile.sha256, "recipient": recipient,
            "selector": view.selector, "dictionary": view.dictionary, "records": view.records}
    digest = hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()
    chain.append(session, actor, "share.viewed", "share_profile", profile.name,
                 after={"profile_revision": profile.revision, "profile_sha256": profile.sha256,
                        "selector": {selector[0]: selector[1]},
                        "recipient": recipient, "record_counts": view.record_counts, "records_sha256": digest})
    return body
