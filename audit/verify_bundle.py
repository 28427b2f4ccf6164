#!/usr/bin/env python3
"""Offline verifier for a Sealtrail audit export bundle.

    python verify_bundle.py BUNDLE            (a directory or a .zip written by `sealtrail audit export`)
    python verify_bundle.py --require-signatures BUNDLE

A single file, Python 3.9+ standard library only. Ed25519 checkpoint signatures are checked with
the `cryptography` package when it is installed; without it the verifier says so clearly and
checks the hash chain only (use --require-signatures to make that a failure).

What is checked:
- every entry's SHA-256 over (previous hash || RFC 8785 canonical JSON of the entry), recomputed
  here with an independent canonicaliser;
- that the entries form one unbroken chain: consecutive sequence numbers, each prev_hash equal to
  the previous entry's hash, the first entry chained to the installation's genesis value (or, for
  a range, to the signed checkpoint just before it);
- every checkpoint's Ed25519 signature, installation and key fingerprint, and that the chain
  passes through each checkpoint's head hash; entries missing after a checkpoint (truncation)
  and entries after the last checkpoint (not covered by a signature) are reported.

Compare the printed public-key fingerprint with the one the manufacturer registered: a bundle
that brings its own key proves consistency, the registered fingerprint proves origin.
Exit status: 0 verified, 1 verification failed, 2 the bundle cannot be read.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

BUNDLE_FORMAT = "sealtrail-audit-bundle"
CHECKPOINT_DOMAIN = "sealtrail-audit-checkpoint"
GENESIS_DOMAIN = "sealtrail-audit-genesis"
ENTRY_KEYS = frozenset({"seq", "event_id", "recorded_at", "actor", "action", "object_type", "object_id",
                        "reason", "before", "after", "payload", "prev_hash", "hash"})
CHECKPOINT_KEYS = frozenset({"created_at", "domain", "genesis_hash", "head_hash", "installation_id",
                             "key_id", "seq", "v", "signature"})
MAX_PROBLEMS = 50


class BundleError(Exception):
    """The bundle cannot be read at all (missing file, not JSON, wrong format)."""


# --------------------------------------------------------------------------- RFC 8785 (JCS)
def jcs(value) -> str:
    """RFC 8785 canonical JSON text of parsed JSON data."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if abs(value) > 2**53 - 1:
            raise ValueError(f"integer {value} is outside the I-JSON range")
        return str(value)
    if isinstance(value, float):
        return _es_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(jcs(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))  # UTF-16 code-unit order
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + jcs(value[k]) for k in keys) + "}"
    raise ValueError(f"not JSON data: {type(value).__name__}")


def _es_number(x: float) -> str:
    """ECMAScript Number.prototype.toString for a finite double (RFC 8785 §3.2.2.3)."""
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError("NaN and Infinity are not JSON")
    if x == 0:
        return "0"
    if x < 0:
        return "-" + _es_number(-x)
    mantissa, _, exp = repr(x).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits, point = whole + frac, len(whole) + (int(exp) if exp else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    return (digits if k == 1 else digits[0] + "." + digits[1:]) + "e" + sign + str(abs(e))


def entry_canonical(entry: dict) -> bytes:
    """The canonical bytes of an exported entry (what its hash covers)."""
    actor = entry["actor"]
    return jcs({"action": entry["action"],
                "actor": {"id": actor["id"], "kind": actor["kind"], "name": actor["name"]},
                "after": entry["after"], "before": entry["before"], "event_id": entry["event_id"],
                "object_id": entry["object_id"], "object_type": entry["object_type"],
                "payload": entry["payload"], "reason": entry["reason"],
                "recorded_at": entry["recorded_at"], "seq": entry["seq"], "v": 1}).encode("utf-8")


def link_hash(prev_hash: str, canonical: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()


def genesis_hash(installation_id: str, created_at: str) -> str:
    return hashlib.sha256(jcs({"domain": GENESIS_DOMAIN, "installation_id": installation_id,
                               "created_at": created_at, "v": 1}).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- results
@dataclass
class Problem:
    seq: int | None
    kind: str
    detail: str

    def __str__(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else "bundle"
        return f"{where}: {self.kind}: {self.detail}"


@dataclass
class VerifyResult:
    """Outcome of a verification: ok, or the problems found (first one = where it breaks)."""

    count: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    head_hash: str | None = None
    checkpoints_verified: int = 0
    last_checkpoint_seq: int | None = None
    signatures_checked: bool = False
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        located = [p for p in self.problems if p.seq is not None]
        return min(located, key=lambda p: p.seq) if located else (self.problems[0] if self.problems else None)

    def add(self, seq, kind, detail) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(seq, kind, detail))

    def summary(self) -> str:
        if self.ok:
            sig = "Ed25519 signatures verified" if self.signatures_checked else "signatures NOT checked"
            span = f"seq {self.first_seq}..{self.last_seq}" if self.count else "empty"
            return (f"OK: {self.count} entries ({span}), head {self.head_hash}, "
                    f"{self.checkpoints_verified} checkpoint(s) ({sig})")
        first = self.first_problem
        return f"FAILED at {first}" + (f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else "")


# --------------------------------------------------------------------------- the chain walk
class ChainWalker:
    """Streams (seq, prev_hash, stored hash, computed hash) and checks links and checkpoints."""

    def __init__(self, result: VerifyResult, checkpoints: list, start_prev: str, start_seq: int = 1):
        self.result = result
        self.checkpoints = sorted(checkpoints, key=lambda c: c["seq"])
        self.cp = 0
        self.prev = start_prev
        self.next_seq = start_seq
        self.last_time = ""
        self.backwards = 0
        while self.cp < len(self.checkpoints) and self.checkpoints[self.cp]["seq"] < start_seq:
            self.cp += 1

    def feed(self, seq: int, prev_hash: str, stored: str, computed: str, recorded_at: str = "") -> None:
        r = self.result
        if recorded_at < self.last_time:  # ISO 8601 UTC, fixed width: text order is time order
            self._time_went_backwards(seq, recorded_at)
        else:
            self.last_time = recorded_at
        if seq != self.next_seq:
            if seq > self.next_seq:
                r.add(self.next_seq, "gap", f"entries {self.next_seq}..{seq - 1} are missing before seq {seq}")
            else:
                r.add(seq, "order", f"seq {seq} appears after seq {self.next_seq - 1} (duplicated or reordered)")
        if prev_hash != self.prev:
            r.add(seq, "link", "prev_hash is not the hash of the preceding entry (entry inserted, deleted or moved)")
        if computed != stored:
            r.add(seq, "hash", "the entry's content does not match its hash (entry modified)")
        checkpoints = self.checkpoints
        while self.cp < len(checkpoints) and checkpoints[self.cp]["seq"] <= seq:
            cp = checkpoints[self.cp]
            if cp["seq"] == seq and cp["head_hash"] != stored:
                r.add(seq, "checkpoint", f"the chain differs from the signed checkpoint at seq {seq} "
                      "(history rewritten since the previous checkpoint)")
            self.cp += 1
        if r.count == 0:
            r.first_seq = seq
        r.count += 1
        r.last_seq, r.head_hash = seq, stored
        self.prev = stored
        self.next_seq = max(self.next_seq, seq + 1)

    def advance(self, n: int, first: int | None, last: int | None, prev: str, next_seq: int,
                last_time: str) -> None:
        """Account for ``n`` entries (seq ``first``..``last``) a caller verified on the fast path."""
        if n:
            r = self.result
            if r.count == 0:
                r.first_seq = first
            r.count += n
            r.last_seq, r.head_hash = last, prev
        self.prev, self.next_seq, self.last_time = prev, next_seq, last_time

    def _time_went_backwards(self, seq: int, recorded_at: str) -> None:
        """Not a break (sequence orders the chain) but an anomaly worth a reviewer's look."""
        self.backwards += 1
        if self.backwards <= 10:
            self.result.notes.append(f"seq {seq}: recorded time goes backwards ({recorded_at} after "
                                     f"{self.last_time}): the server clock was moved back")

    def finish(self, *, tail_must_be_sealed: bool) -> VerifyResult:
        r = self.result
        if self.backwards > 10:
            r.notes.append(f"recorded time went backwards at {self.backwards} entries in total")
        for cp in self.checkpoints[self.cp:]:
            end = r.last_seq or 0
            r.add(end + 1, "truncated", f"signed checkpoint at seq {cp['seq']} but the chain ends at seq "
                  f"{end}: entries {end + 1}..{cp['seq']} are missing")
        if self.checkpoints:
            r.last_checkpoint_seq = self.checkpoints[-1]["seq"]
        tail_from = max((r.last_checkpoint_seq or 0) + 1, r.first_seq or 1)
        if r.last_seq is not None and r.last_seq >= tail_from:
            message = f"entries {tail_from}..{r.last_seq} are not covered by a signed checkpoint"
            if tail_must_be_sealed:
                r.add(tail_from, "unsealed", message)
            else:
                r.notes.append(message + " (protected by the hash chain only)")
        return r


# --------------------------------------------------------------------------- checkpoints
def check_checkpoints(raw: list, result: VerifyResult, *, installation_id: str, genesis: str,
                      verify_signature, key_fingerprint: str | None) -> list:
    """The checkpoints that are well-formed, of this installation and validly signed."""
    good, by_seq = [], {}
    for cp in raw:
        seq = cp.get("seq") if isinstance(cp, dict) else None
        seq = seq if isinstance(seq, int) and not isinstance(seq, bool) else None
        if seq is None or set(cp) != CHECKPOINT_KEYS:
            result.add(seq, "checkpoint_format", "malformed checkpoint record")
            continue
        if cp["domain"] != CHECKPOINT_DOMAIN or cp["v"] != 1:
            result.add(seq, "checkpoint_format", "not a Sealtrail checkpoint of a known version")
            continue
        if cp["installation_id"] != installation_id or cp["genesis_hash"] != genesis:
            result.add(seq, "checkpoint_installation", "checkpoint belongs to another installation or genesis")
            continue
        if key_fingerprint is not None and cp["key_id"] != key_fingerprint:
            result.add(seq, "checkpoint_key", f"checkpoint signed by key {cp['key_id']}, not {key_fingerprint}")
            continue
        document = {k: v for k, v in cp.items() if k != "signature"}
        if verify_signature is not None and not verify_signature(cp["signature"], document):
            result.add(seq, "checkpoint_signature", "the checkpoint's Ed25519 signature is not valid")
            continue
        if seq in by_seq:
            if by_seq[seq]["head_hash"] != cp["head_hash"]:
                result.add(seq, "checkpoint_conflict", "two signed checkpoints disagree about this seq")
            continue
        by_seq[seq] = cp
        good.append(cp)
    result.checkpoints_verified = len(good)
    return good


def _stdlib_signature_checker(public_pem: bytes):
    """An Ed25519 checker using `cryptography`, or None when it is not installed."""
    try:  # optional: the offline verifier also runs on the standard library alone
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
    except ImportError:
        return None
    public = load_pem_public_key(public_pem)

    def check(signature_b64: str, document: dict) -> bool:
        try:
            public.verify(base64.b64decode(signature_b64, validate=True), jcs(document).encode("utf-8"))
            return True
        except (InvalidSignature, ValueError, TypeError):
            return False
    return check


def public_key_fingerprint(public_pem: bytes) -> str:
    """``SHA256:<hex>`` of the raw 32-byte Ed25519 key inside a SubjectPublicKeyInfo PEM."""
    body = b"".join(line for line in public_pem.strip().splitlines() if not line.startswith(b"-----"))
    der = base64.b64decode(body)
    if len(der) != 44 or not der.startswith(bytes.fromhex("302a300506032b6570032100")):
        raise BundleError("public_key.pem is not an Ed25519 public key")
    return "SHA256:" + hashlib.sha256(der[-32:]).hexdigest()


# --------------------------------------------------------------------------- reading bundles
def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicates(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def strict_json(text: str):
    """json.loads that refuses NaN/Infinity and duplicate keys."""
    return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)


class Bundle:
    """A bundle directory or .zip: manifest, public key, checkpoints and streamed entries."""

    def __init__(self, path):
        self.path = Path(path)
        if self.path.is_dir():
            self._zip = None
        elif zipfile.is_zipfile(self.path):
            self._zip = zipfile.ZipFile(self.path)
        else:
            raise BundleError(f"{self.path} is neither a bundle directory nor a .zip bundle")
        try:
            self.manifest = strict_json(self.read_bytes("manifest.json").decode("utf-8"))
        except ValueError as exc:
            raise BundleError(f"manifest.json is not valid JSON: {exc}") from exc
        if not isinstance(self.manifest, dict) or self.manifest.get("format") != BUNDLE_FORMAT:
            raise BundleError("manifest.json does not describe a Sealtrail audit bundle")
        if self.manifest.get("version") != 1:
            raise BundleError(f"unsupported bundle version {self.manifest.get('version')!r}")
        self.public_pem = self.read_bytes("public_key.pem")

    def read_bytes(self, name: str) -> bytes:
        try:
            if self._zip is not None:
                return self._zip.read(name)
            return (self.path / name).read_bytes()
        except (KeyError, FileNotFoundError) as exc:
            raise BundleError(f"the bundle has no {name}") from exc

    def lines(self, name: str):
        """(line number, text) of a JSON Lines file, streamed; raw bytes kept strict."""
        try:
            stream = self._zip.open(name) if self._zip is not None else (self.path / name).open("rb")
        except (KeyError, FileNotFoundError) as exc:
            raise BundleError(f"the bundle has no {name}") from exc
        with stream:
            yield from enumerate(stream, start=1)

    def checkpoints(self, result: VerifyResult) -> list:
        out = []
        for number, raw in self.lines("checkpoints.jsonl"):
            try:
                out.append(strict_json(_line_text(raw)))
            except ValueError as exc:
                result.add(None, "checkpoint_format", f"checkpoints.jsonl line {number}: {exc}")
        return out


def _line_text(raw: bytes) -> str:
    if not raw.endswith(b"\n"):
        raise ValueError("line is not terminated (truncated file or trailing garbage)")
    text = raw[:-1].decode("utf-8")
    if not text.strip():
        raise ValueError("blank line")
    return text


def parse_entry(raw: bytes) -> dict:
    """One entries.jsonl line as a dict with exactly the entry keys and plausible types."""
    entry = strict_json(_line_text(raw))
    if not isinstance(entry, dict) or set(entry) != ENTRY_KEYS:
        raise ValueError("not an entry record (wrong or missing fields)")
    if not isinstance(entry["seq"], int) or isinstance(entry["seq"], bool) or entry["seq"] < 1:
        raise ValueError("seq is not a positive integer")
    actor = entry["actor"]
    if not isinstance(actor, dict) or set(actor) != {"kind", "id", "name"}:
        raise ValueError("actor must have exactly kind, id and name")
    for name in ("event_id", "recorded_at", "action", "object_type", "object_id", "prev_hash", "hash"):
        if not isinstance(entry[name], str):
            raise ValueError(f"{name} is not text")
    if not all(isinstance(actor[k], str) for k in actor):
        raise ValueError("actor fields must be text")
    if entry["reason"] is not None and not isinstance(entry["reason"], str):
        raise ValueError("reason is not text")
    for name in ("prev_hash", "hash"):
        if len(entry[name]) != 64 or entry[name].strip("0123456789abcdef"):
            raise ValueError(f"{name} is not a SHA-256 hex digest")
    return entry


def verify_bundle(path, *, canonical=entry_canonical, signature_checker_factory=_stdlib_signature_checker,
                  require_signatures: bool = False) -> VerifyResult:
    """Verify a bundle; the built-in verifier passes its own canonicaliser and signature check."""
    bundle = Bundle(path)
    result = VerifyResult()
    manifest = bundle.manifest
    installation_id, genesis = manifest.get("installation_id"), manifest.get("genesis_hash")
    if genesis != genesis_hash(str(installation_id), str(manifest.get("installation_created_at"))):
        result.add(None, "genesis", "the manifest's genesis hash does not derive from its installation id")
    fingerprint = public_key_fingerprint(bundle.public_pem)
    checker = signature_checker_factory(bundle.public_pem)
    result.signatures_checked = checker is not None
    if checker is None:
        message = ("the 'cryptography' package is not installed: checkpoint signatures were NOT "
                   "verified; only the hash chain was checked")
        if require_signatures:
            result.add(None, "signatures", message)
        else:
            result.notes.append(message)
    _check_manifest_signature(bundle, checker, result)
    checkpoints = check_checkpoints(bundle.checkpoints(result), result, installation_id=installation_id,
                                    genesis=genesis, verify_signature=checker, key_fingerprint=fingerprint)
    partial = manifest.get("selection", {}).get("kind") == "object"
    _walk_entries(bundle, result, checkpoints, canonical, genesis, partial)
    expected = manifest.get("entry_count")
    if expected != result.count:
        result.add(None, "count", f"the manifest lists {expected} entries, the bundle holds {result.count}")
    if not partial and result.count == 0 and not result.problems:
        result.add(None, "empty", "the bundle holds no entries")
    result.notes.insert(0, f"public key fingerprint {fingerprint} (compare with the registered one)")
    return result


def _check_manifest_signature(bundle, checker, result: VerifyResult) -> None:
    try:
        signature = bundle.read_bytes("manifest.sig").decode("ascii").strip()
    except (BundleError, UnicodeDecodeError):
        result.notes.append("the manifest is not signed (selection and counts are the exporter's claim)")
        return
    if checker is not None and not checker(signature, bundle.manifest):
        result.add(None, "manifest_signature", "manifest.json does not match its Ed25519 signature "
                   "(selection or counts altered)")


def _walk_entries(bundle, result, checkpoints, canonical, genesis, partial) -> None:
    walker, last_seq = None, 0
    for number, raw in bundle.lines("entries.jsonl"):
        try:
            entry = parse_entry(raw)
            computed = link_hash(entry["prev_hash"], canonical(entry))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            result.add(last_seq + 1 if last_seq else None, "format", f"entries.jsonl line {number}: {exc}")
            continue
        seq = entry["seq"]
        if partial:  # an object-filtered export: each entry against its own hash, in order
            if computed != entry["hash"]:
                result.add(seq, "hash", "the entry's content does not match its hash (entry modified)")
            if seq <= last_seq:
                result.add(seq, "order", f"seq {seq} appears after seq {last_seq}")
            result.first_seq = result.first_seq or seq
            result.count, result.last_seq, result.head_hash = result.count + 1, seq, entry["hash"]
        else:
            if walker is None:
                walker = ChainWalker(result, checkpoints, _start_prev(seq, entry, checkpoints, genesis, result), seq)
            walker.feed(seq, entry["prev_hash"], entry["hash"], computed, entry["recorded_at"])
        last_seq = seq
    if partial:
        result.notes.append("object-filtered export: each entry's hash was checked; chain continuity "
                            "between them is verified only by `sealtrail audit verify` on the system")
    elif walker is not None:
        walker.finish(tail_must_be_sealed=True)
    elif checkpoints:
        ChainWalker(result, checkpoints, genesis).finish(tail_must_be_sealed=True)


def _start_prev(seq: int, entry: dict, checkpoints: list, genesis: str, result: VerifyResult) -> str:
    """What the first exported entry must chain to: genesis, or the checkpoint just before it."""
    if seq == 1:
        return genesis
    anchor = next((c for c in checkpoints if c["seq"] == seq - 1), None)
    if anchor is not None:
        return anchor["head_hash"]
    result.notes.append(f"the range starts at seq {seq} without a checkpoint at seq {seq - 1}: "
                        "its first link is taken as given")
    return entry["prev_hash"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Verify a Sealtrail audit export bundle offline.")
    parser.add_argument("bundle", help="bundle directory or .zip")
    parser.add_argument("--require-signatures", action="store_true",
                        help="fail when checkpoint signatures cannot be checked (cryptography missing)")
    args = parser.parse_args(argv)
    try:
        result = verify_bundle(args.bundle, require_signatures=args.require_signatures)
    except (BundleError, OSError, UnicodeDecodeError) as exc:
        print(f"ERROR: cannot read bundle: {exc}", file=sys.stderr)
        return 2
    for note in result.notes:
        print(f"note: {note}")
    for problem in result.problems:
        print(f"problem: {problem}")
    print(result.summary())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
