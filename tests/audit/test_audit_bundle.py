"""Export bundles and both verifiers, tested the way Certificate Transparency verifiers are:
a valid bundle is corrupted every way, and each corruption must be rejected by the built-in
verifier (rfc8785 + cryptography) and by the standalone one (stdlib canonicaliser)."""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings as hsettings, strategies as st
from sqlalchemy.orm import Session

from audit import SYSTEM, Actor
from audit import verify as builtin
from audit import verify_bundle as standalone
from audit.chain import append
from audit.checkpoints import create_checkpoint, public_key_pem
from audit.export import ExportError, export_bundle


ROOT = Path(__file__).resolve().parents[2]
VERIFIER = ROOT / "audit" / "verify_bundle.py"
ALICE = Actor("user", "7", "Zoë Ångström 张伟")


@pytest.fixture(scope="module")
def pristine(shared_db, tmp_path_factory):
    """A 14-entry chain with checkpoints at 5, 10 and 14, exported as a full bundle and more."""
    key = Ed25519PrivateKey.generate()
    out = tmp_path_factory.mktemp("bundles")
    connection = shared_db.engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        for i in range(1, 15):
            append(session, ALICE if i % 2 else SYSTEM, "measurement.recorded", "lot", f"L-{i % 3}",
                   reason="re-measured" if i % 4 == 0 else None, before={"v": i} if i % 4 == 0 else None,
                   after={"v": i * 0.1, "unit": "mm", "ok": i % 5 != 0},
                   payload={"note": "naïve 😀 \u2028 \"q\"", "big": 2**53 - 1, "tiny": 1e-7 * i, "n": None})
            if i in (5, 10, 14):
                create_checkpoint(session, key)
        pem = public_key_pem(key)
        paths = {"full": out / "full", "zip": out / "full.zip", "range": out / "range",
                 "object": out / "object", "unsigned": out / "unsigned"}
        export_bundle(session, paths["full"], public_key_pem=pem, signing_key=key)
        export_bundle(session, paths["zip"], public_key_pem=pem, signing_key=key)
        export_bundle(session, paths["range"], public_key_pem=pem, signing_key=key, seq_from=7, seq_to=8)
        export_bundle(session, paths["object"], public_key_pem=pem, signing_key=key, obj=("lot", "L-1"))
        export_bundle(session, paths["unsigned"], public_key_pem=pem)
        with pytest.raises(ExportError, match="either"):
            export_bundle(session, out / "bad", public_key_pem=pem, seq_from=1, obj=("lot", "L-1"))
        with pytest.raises(ExportError, match="already exists"):
            export_bundle(session, paths["full"], public_key_pem=pem)
    finally:
        session.close()
        outer.rollback()
        connection.close()
    paths["key"] = key
    return paths


def both(path):
    """(built-in result, standalone result)."""
    return builtin.verify_bundle(path), standalone.verify_bundle(path)


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(b)")
@pytest.mark.parametrize("kind", ["full", "zip", "range", "object", "unsigned"])
def test_exported_bundles_verify_with_both_verifiers(pristine, kind):
    for result in both(pristine[kind]):
        assert result.ok, result.problems
        assert result.signatures_checked
    full = standalone.verify_bundle(pristine["full"])
    assert (full.count, full.first_seq, full.last_seq, full.checkpoints_verified) == (14, 1, 14, 3)


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(b)")
def test_range_export_is_widened_to_checkpoint_intervals(pristine):
    result = standalone.verify_bundle(pristine["range"])
    assert (result.first_seq, result.last_seq) == (6, 10)  # checkpoints at 5 and 10 anchor it
    manifest = json.loads((pristine["range"] / "manifest.json").read_text())
    assert manifest["selection"]["requested"] == {"from": "7", "to": "8"}


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(b)")
def test_object_export_holds_only_that_object(pristine):
    lines = (pristine["object"] / "entries.jsonl").read_text().splitlines()
    assert lines and all(json.loads(l)["object_id"] == "L-1" for l in lines)


# --------------------------------------------------------------------------- corruption matrix
def _entries(bundle):
    return [json.loads(l) for l in (bundle / "entries.jsonl").read_text(encoding="utf-8").split("\n") if l]


def _write_entries(bundle, entries, tail=""):
    text = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries) + tail
    (bundle / "entries.jsonl").write_text(text, encoding="utf-8")


def _checkpoints(bundle):
    return [json.loads(l) for l in (bundle / "checkpoints.jsonl").read_text().splitlines()]


def _write_checkpoints(bundle, cps):
    (bundle / "checkpoints.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cps))


def _flip(value):
    """One-bit change of a field value, whatever its type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value ^ 1
    if isinstance(value, float):
        return value * 2
    if isinstance(value, str):
        return (chr(ord(value[0]) ^ 1) + value[1:]) if value else "x"
    if value is None:
        return "x"
    if isinstance(value, dict):
        key = sorted(value)[0]
        return value | {key: _flip(value[key])}
    raise AssertionError(type(value))


ENTRY_FIELDS = ["seq", "event_id", "recorded_at", "action", "object_type", "object_id", "reason",
                "before", "after", "payload", "prev_hash", "hash", "actor.kind", "actor.id", "actor.name",
                "payload.note", "payload.big", "payload.tiny", "after.v", "after.ok"]


def _mutate_field(entry, field):
    if "." in field:
        outer, inner = field.split(".")
        entry[outer] = entry[outer] | {inner: _flip(entry[outer][inner])}
    else:
        entry[field] = _flip(entry[field])


def corrupt_field(bundle, index, field):
    entries = _entries(bundle)
    _mutate_field(entries[index], field)
    _write_entries(bundle, entries)


def _recomputed(entry, prev):
    entry = dict(entry, prev_hash=prev)
    entry["hash"] = standalone.link_hash(prev, standalone.entry_canonical(entry))
    return entry


CORRUPTIONS = {
    "seq +1": lambda b: _edit(b, lambda e: e[6].update(seq=e[6]["seq"] + 1)),
    "seq -1": lambda b: _edit(b, lambda e: e[6].update(seq=e[6]["seq"] - 1)),
    "drop first": lambda b: _edit(b, lambda e: e.pop(0)),
    "drop middle": lambda b: _edit(b, lambda e: e.pop(7)),
    "drop last": lambda b: _edit(b, lambda e: e.pop()),
    "duplicate": lambda b: _edit(b, lambda e: e.insert(4, dict(e[4]))),
    "duplicate last": lambda b: _edit(b, lambda e: e.append(dict(e[-1]))),
    "swap adjacent": lambda b: _edit(b, lambda e: e.__setitem__(slice(3, 5), [e[4], e[3]])),
    "swap distant": lambda b: _edit(b, lambda e: e.__setitem__(slice(1, 12, 10), [e[11], e[1]])),
    "append forged": lambda b: _edit(b, lambda e: e.append(_recomputed(dict(e[-1], seq=15, event_id="x"), e[-1]["hash"]))),
    "append forged after extending manifest": lambda b: (
        _edit(b, lambda e: e.append(_recomputed(dict(e[-1], seq=15, event_id="x"), e[-1]["hash"]))),
        _manifest(b, lambda m: m.update(entry_count=15, last_seq=15))),
    "truncate to checkpoint 10": lambda b: (_edit(b, lambda e: e.__delitem__(slice(10, None))),
                                             _manifest(b, lambda m: m.update(entry_count=10, last_seq=10))),
    "truncate and drop later checkpoint": lambda b: (
        _edit(b, lambda e: e.__delitem__(slice(10, None))),
        _write_checkpoints(b, _checkpoints(b)[:2]),
        _manifest(b, lambda m: m.update(entry_count=10, last_seq=10))),
    "truncated mid-line": lambda b: (b / "entries.jsonl").write_bytes((b / "entries.jsonl").read_bytes()[:-40]),
    "trailing garbage": lambda b: _append(b / "entries.jsonl", "garbage"),
    "trailing empty object": lambda b: _append(b / "entries.jsonl", "{}\n"),
    "trailing blank line": lambda b: _append(b / "entries.jsonl", "\n"),
    "leading garbage": lambda b: (b / "entries.jsonl").write_bytes(b"x" + (b / "entries.jsonl").read_bytes()),
    "extra field": lambda b: _edit(b, lambda e: e[2].update(extra=1)),
    "missing field": lambda b: _edit(b, lambda e: e[2].pop("reason")),
    "duplicate key": lambda b: (b / "entries.jsonl").write_text(
        (b / "entries.jsonl").read_text().replace('"reason":', '"reason":"x","reason":', 1)),
    "NaN value": lambda b: (b / "entries.jsonl").write_text(
        (b / "entries.jsonl").read_text().replace('"tiny":', '"tiny":NaN,"t2":', 1)),
    "recompute whole chain after a change": lambda b: _edit(b, _rewrite_all),
    "empty entries": lambda b: (b / "entries.jsonl").write_text(""),
    "checkpoint signature bit flip": lambda b: _cp(b, 1, lambda c: c.update(signature=_flip_b64(c["signature"]))),
    "checkpoint signatures swapped": lambda b: _swap_sigs(b),
    "checkpoint head changed": lambda b: _cp(b, 0, lambda c: c.update(head_hash=_flip(c["head_hash"]))),
    "checkpoint seq +1": lambda b: _cp(b, 0, lambda c: c.update(seq=c["seq"] + 1)),
    "checkpoint seq -1": lambda b: _cp(b, 0, lambda c: c.update(seq=c["seq"] - 1)),
    "checkpoint key id": lambda b: _cp(b, 0, lambda c: c.update(key_id=_flip(c["key_id"]))),
    "checkpoint installation": lambda b: _cp(b, 0, lambda c: c.update(installation_id=_flip(c["installation_id"]))),
    "checkpoint trailing garbage": lambda b: _append(b / "checkpoints.jsonl", "{"),
    "drop last checkpoint": lambda b: _write_checkpoints(b, _checkpoints(b)[:-1]),
    "other public key": lambda b: (b / "public_key.pem").write_text(public_key_pem(Ed25519PrivateKey.generate())),
    "manifest count": lambda b: _manifest(b, lambda m: m.update(entry_count=13)),
    "manifest genesis": lambda b: _manifest(b, lambda m: m.update(genesis_hash=_flip(m["genesis_hash"]))),
    "manifest selection": lambda b: _manifest(b, lambda m: m["selection"].update(kind="object")),
    "manifest signature bit flip": lambda b: (b / "manifest.sig").write_text(_flip_b64((b / "manifest.sig").read_text().strip())),
}


def _append(path, text):
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)


def _edit(bundle, change):
    entries = _entries(bundle)
    change(entries)
    _write_entries(bundle, entries)


def _manifest(bundle, change):
    manifest = json.loads((bundle / "manifest.json").read_text())
    change(manifest)
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def _cp(bundle, index, change):
    cps = _checkpoints(bundle)
    change(cps[index])
    _write_checkpoints(bundle, cps)


def _swap_sigs(bundle):
    cps = _checkpoints(bundle)
    cps[0]["signature"], cps[1]["signature"] = cps[1]["signature"], cps[0]["signature"]
    _write_checkpoints(bundle, cps)


def _flip_b64(text):
    raw = bytearray(base64.b64decode(text))
    raw[len(raw) // 2] ^= 1
    return base64.b64encode(bytes(raw)).decode()


def _rewrite_all(entries):
    entries[2]["reason"] = "rewritten"
    prev = entries[0]["prev_hash"]
    for i, entry in enumerate(entries):
        entries[i] = _recomputed(entry, prev)
        prev = entries[i]["hash"]


def _rejected_by_both(bundle):
    for name, verify in (("built-in", builtin.verify_bundle), ("standalone", standalone.verify_bundle)):
        try:
            result = verify(bundle)
        except standalone.BundleError:
            continue  # unreadable is a rejection too
        assert not result.ok, f"{name} verifier accepted a corrupted bundle"


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(b)")
@pytest.mark.parametrize("field", ENTRY_FIELDS)
@pytest.mark.parametrize("index", [0, 6, 13])
def test_one_changed_field_in_any_entry_is_rejected(pristine, tmp_path, index, field):
    bundle = tmp_path / "b"
    shutil.copytree(pristine["full"], bundle)
    corrupt_field(bundle, index, field)
    _rejected_by_both(bundle)
    result = standalone.verify_bundle(bundle)
    located = {index + 1, index + 2, None} | ({(index + 1) ^ 1} if field == "seq" else set())
    assert result.first_problem.seq in located, result.problems


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(b)")
@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_every_corruption_is_rejected(pristine, tmp_path, name):
    bundle = tmp_path / "b"
    shutil.copytree(pristine["full"], bundle)
    CORRUPTIONS[name](bundle)
    _rejected_by_both(bundle)


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(b)")
def test_problems_are_located(pristine, tmp_path):
    bundle = tmp_path / "b"
    shutil.copytree(pristine["full"], bundle)
    _edit(bundle, lambda e: e.pop(7))
    assert (standalone.verify_bundle(bundle).first_problem.seq,
            standalone.verify_bundle(bundle).first_problem.kind) == (8, "gap")
    shutil.rmtree(bundle)
    shutil.copytree(pristine["full"], bundle)
    _edit(bundle, _rewrite_all)
    first = builtin.verify_bundle(bundle).first_problem
    assert (first.seq, first.kind) == (5, "checkpoint")


# --------------------------------------------------------------------------- standalone as a program
def _run(*args, env_python=sys.executable, block_cryptography=False):
    code = ("import sys, runpy; "
            + ("sys.modules['cryptography'] = None; " if block_cryptography else "")
            + f"sys.argv = ['verify_bundle.py'] + {list(map(str, args))!r}; "
            + f"runpy.run_path({str(VERIFIER)!r}, run_name='__main__')")
    return subprocess.run([env_python, "-I", "-c", code], capture_output=True, text=True, timeout=60)


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(b)")
def test_standalone_program_accepts_a_bundle_and_rejects_a_tampered_copy(pristine, tmp_path):
    ok = _run(pristine["zip"])
    assert ok.returncode == 0 and ok.stdout.strip().splitlines()[-1].startswith("OK: 14 entries")
    assert "fingerprint SHA256:" in ok.stdout
    bundle = tmp_path / "b"
    shutil.copytree(pristine["full"], bundle)
    corrupt_field(bundle, 8, "reason")
    bad = _run(bundle)
    assert bad.returncode == 1 and "FAILED at seq 9: hash" in bad.stdout
    missing = _run(tmp_path / "nothing-here")
    assert missing.returncode == 2 and "cannot read bundle" in missing.stderr


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(b)")
def test_standalone_without_cryptography_degrades_to_hash_only_clearly(pristine, tmp_path):
    result = _run(pristine["full"], block_cryptography=True)
    assert result.returncode == 0
    assert "signatures were NOT verified" in result.stdout and "signatures NOT checked" in result.stdout
    strict = _run("--require-signatures", pristine["full"], block_cryptography=True)
    assert strict.returncode == 1
    bundle = tmp_path / "b"
    shutil.copytree(pristine["full"], bundle)
    corrupt_field(bundle, 3, "payload.note")
    assert _run(bundle, block_cryptography=True).returncode == 1  # the chain is still checked


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(b)")
def test_standalone_uses_only_the_standard_library():
    import ast
    tree = ast.parse(VERIFIER.read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported - {"cryptography", "__future__"} <= set(sys.stdlib_module_names)


# --------------------------------------------------------------------------- the stdlib canonicaliser
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10)


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(b)")
@hsettings(max_examples=500, deadline=None)
@given(_json)
def test_standalone_jcs_equals_rfc8785(value):
    assert standalone.jcs(value).encode("utf-8") == rfc8785.dumps(value)


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(b)")
@pytest.mark.parametrize("number, text", [
    (1.0, "1"), (1e-7, "1e-7"), (1e21, "1e+21"), (1e20, "100000000000000000000"), (0.000001, "0.000001"),
    (-0.0, "0"), (123456789.123, "123456789.123"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
    (0.1, "0.1"), (-1.5e-10, "-1.5e-10"), (333333333.33333329, "333333333.3333333")])
def test_es6_number_serialisation(number, text):
    assert standalone.jcs(number) == text


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(b)")
def test_key_order_is_utf16_code_units():
    assert standalone.jcs({"ﬁ": 1, "😀": 2, "a": 3}) == '{"a":3,"😀":2,"ﬁ":1}'


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(b)")
def test_time_going_backwards_is_noted_but_not_a_break():
    result = standalone.VerifyResult()
    walker = standalone.ChainWalker(result, [], "g")
    walker.feed(1, "g", "h1", "h1", "2026-11-26T10:00:00.000000Z")
    walker.feed(2, "h1", "h2", "h2", "2026-11-26T09:59:00.000000Z")
    walker.finish(tail_must_be_sealed=False)
    assert result.ok and any("seq 2: recorded time goes backwards" in n for n in result.notes)
