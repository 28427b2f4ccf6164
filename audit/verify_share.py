#!/usr/bin/env python3
"""Verify and open a Sealtrail sharing package (the recipient's side).

    python -m audit.verify_share PKG --identity KEY [--expect-key SHA256:…] [-o RECORDS.json]
    python verify_share.py PKG --identity KEY …          (this file alone works the same)

One file: the Python 3.9+ standard library plus `cryptography` (Ed25519) and `pyrage` (age):
``pip install cryptography pyrage``. KEY is your age identity file (``AGE-SECRET-KEY-1…``, as
``age-keygen`` writes it); the manufacturer encrypted the package to its public key (``age1…``).

What is checked, in this order:
1. the package holds exactly manifest.json, manifest.sig and payload.age, none too large;
2. the Ed25519 signature of manifest.json by the public key it carries (compare the printed
   fingerprint with the one the manufacturer registered, or pass --expect-key);
3. the SHA-256 and size of payload.age against the signed manifest (nothing swapped or altered);
4. that your identity opens payload.age, and that the records inside name the same package,
   profile and recipient as the signed manifest.
Exit status: 0 verified and opened, 1 verification failed (or not for your identity), 2 unreadable.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import zipfile
from pathlib import Path

try:
    import pyrage
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError as exc:  # on the recipient's machine: say what to install, not a traceback
    sys.exit(f"ERROR: the {exc.name} package is missing: pip install cryptography pyrage")

FORMAT = "sealtrail-share/1"
MEMBERS = {"manifest.json", "manifest.sig", "payload.age"}
MAX_MANIFEST = 1 << 20
MAX_PAYLOAD = 1 << 30
MAX_IDENTITY = 64 * 1024


class Failed(Exception):
    """Verification failed: ``kind`` names what (signature, payload, identity, binding)."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind


class Unreadable(Exception):
    """The package or the identity cannot be read at all."""


def _read_package(path: Path) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            if set(infos) != MEMBERS:
                raise Failed("layout", f"expected {sorted(MEMBERS)}, found {sorted(infos)}")
            limits = {"manifest.json": MAX_MANIFEST, "manifest.sig": 1024, "payload.age": MAX_PAYLOAD}
            for name, info in infos.items():
                if info.file_size > limits[name]:
                    raise Failed("layout", f"{name} is larger than {limits[name]} bytes")
            return {name: zf.read(name) for name in MEMBERS}
    except (OSError, zipfile.BadZipFile) as exc:
        raise Unreadable(f"cannot read {path}: {exc}") from None


def _fingerprint(public_key) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + hashlib.sha256(raw).hexdigest()


def verify_manifest(files: dict[str, bytes], expect_key: str | None = None) -> tuple[dict, str]:
    """The signed manifest and the signer's fingerprint; Failed when the signature does not hold."""
    try:
        manifest = json.loads(files["manifest.json"].decode("utf-8"))
        public_key = serialization.load_pem_public_key(manifest["signer"]["public_key_pem"].encode("ascii"))
        signature = base64.b64decode(files["manifest.sig"], validate=True)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise Failed("manifest", f"malformed manifest or signature ({exc.__class__.__name__})") from None
    if manifest.get("format") != FORMAT or not isinstance(public_key, Ed25519PublicKey):
        raise Failed("manifest", f"not a {FORMAT} package signed with Ed25519")
    try:
        public_key.verify(signature, files["manifest.json"])
    except InvalidSignature:
        raise Failed("signature", "the manifest's Ed25519 signature does not verify") from None
    fingerprint = _fingerprint(public_key)
    if fingerprint != manifest["signer"].get("key_id"):
        raise Failed("signature", "the manifest names another key than the one that signed it")
    if expect_key and fingerprint != expect_key.strip():
        raise Failed("signature", f"signed by {fingerprint}, not by the expected {expect_key.strip()}")
    payload = manifest.get("payload") or {}
    data = files["payload.age"]
    if hashlib.sha256(data).hexdigest() != payload.get("sha256") or len(data) != payload.get("bytes"):
        raise Failed("payload", "payload.age is not the file the manifest signed (altered or swapped)")
    return manifest, fingerprint


def open_payload(files: dict[str, bytes], manifest: dict, identity_text: str) -> dict:
    """The records, decrypted with the recipient's identity and checked against the manifest."""
    identities = []
    for line in identity_text.splitlines():
        line = line.strip()
        if line.startswith("AGE-SECRET-KEY-"):
            try:
                identities.append(pyrage.x25519.Identity.from_str(line))
            except Exception:
                raise Unreadable("the identity file holds a malformed AGE-SECRET-KEY line") from None
    if not identities:
        raise Unreadable("the identity file holds no AGE-SECRET-KEY-1… line")
    if manifest.get("recipient") not in {str(i.to_public()) for i in identities}:
        raise Failed("identity", f"the package is for {manifest.get('recipient')}, not for this identity")
    try:
        plain = pyrage.decrypt(files["payload.age"], identities)
    except Exception:
        raise Failed("identity", "this identity cannot open payload.age") from None
    try:
        records = json.loads(plain.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise Failed("payload", "the decrypted payload is not JSON") from None
    for key in ("package_id", "profile", "profile_revision", "created_at"):
        if records.get(key) != manifest.get(key):
            raise Failed("binding", f"the payload's {key} differs from the signed manifest's")
    counts = {name: len(rows) for name, rows in records.get("records", {}).items()}
    if counts != manifest.get("record_counts"):
        raise Failed("binding", "the payload's record counts differ from the signed manifest's")
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="verify_share", description=__doc__.split("\n\n")[0])
    parser.add_argument("package", type=Path)
    parser.add_argument("--identity", type=Path, required=True, help="your age identity file")
    parser.add_argument("--expect-key", help="the manufacturer's registered fingerprint (SHA256:…)")
    parser.add_argument("-o", "--output", type=Path, help="write the opened records (JSON) here")
    args = parser.parse_args(argv)
    try:
        files = _read_package(args.package)
        if args.identity.stat().st_size > MAX_IDENTITY:
            raise Unreadable(f"{args.identity} is too large for an identity file")
        identity = args.identity.read_text(encoding="utf-8")
        manifest, fingerprint = verify_manifest(files, args.expect_key)
        print(f"note: signed by {fingerprint} (compare with the manufacturer's registered fingerprint)")
        records = open_payload(files, manifest, identity)
    except Failed as exc:
        print(f"FAILED: {exc}")
        return 1
    except (Unreadable, OSError, UnicodeDecodeError) as exc:
        print(f"ERROR: {exc}")
        return 2
    text = json.dumps(records, ensure_ascii=False, indent=2)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    total = sum(manifest["record_counts"].values())
    revision = f" rev {manifest['profile_revision']}" if manifest.get("profile_revision") is not None else ""
    print(f"OK: package {manifest['package_id']}, profile {manifest['profile']}{revision}, {total} record(s) in "
          f"{len(manifest['record_counts'])} table(s), created {manifest['created_at']}"
          + (f"; written to {args.output}" if args.output else ""))
    if not args.output:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
