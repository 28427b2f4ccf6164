"""The backup manifest: its signature (Ed25519 over the RFC 8785 canonical JSON) and file."""
from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from engine.backup.errors import RestoreRefused

FORMAT = "sealtrail-backup/1"
MANIFEST_NAME = "manifest.json"


def public_key_fingerprint(public_key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, hex: names the key that signed."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def _signed_bytes(manifest: dict) -> bytes:
    return rfc8785.dumps({k: v for k, v in manifest.items() if k != "signature"})


def sign(manifest: dict, private_key: Ed25519PrivateKey) -> dict:
    """``manifest`` with a ``signature`` block over everything else in it."""
    public_key = private_key.public_key()
    value = private_key.sign(_signed_bytes(manifest))
    return manifest | {"signature": {
        "algorithm": "Ed25519",
        "public_key_sha256": public_key_fingerprint(public_key),
        "public_key_pem": public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
        "value": base64.b64encode(value).decode(),
    }}


def check_signature(manifest: dict, trusted: Ed25519PublicKey) -> None:
    """Raise RestoreRefused unless ``trusted`` signed exactly this manifest."""
    block = manifest.get("signature")
    if not isinstance(block, dict) or block.get("algorithm") != "Ed25519":
        raise RestoreRefused("the manifest is not signed (no Ed25519 signature block)")
    if block.get("public_key_sha256") != public_key_fingerprint(trusted):
        raise RestoreRefused(
            f"the manifest was signed by key {str(block.get('public_key_sha256'))[:16]}…, not by "
            f"the trusted key {public_key_fingerprint(trusted)[:16]}… (pass --public-key with the "
            "installation's public key if the keys were rotated)")
    try:
        trusted.verify(base64.b64decode(block["value"]), _signed_bytes(manifest))
    except (InvalidSignature, ValueError, KeyError) as exc:
        raise RestoreRefused("the manifest signature does not verify: the manifest was altered "
                             "after the backup was taken") from exc


def write(directory: Path, manifest: dict) -> Path:
    path = directory / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path


def read(directory: Path) -> dict:
    path = directory / MANIFEST_NAME
    if not path.is_file():
        raise RestoreRefused(f"{directory} is not a Sealtrail backup: {MANIFEST_NAME} is missing")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise RestoreRefused(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise RestoreRefused(f"{path}: unknown backup format {manifest.get('format')!r} "
                             f"(this version reads {FORMAT})")
    return manifest


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The installation's Ed25519 signing key (PEM)."""
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise RestoreRefused(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file (a private key file gives its public half)."""
    data = Path(path).read_bytes()
    if b"PRIVATE KEY" in data:
        return load_private_key(path).public_key()
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise RestoreRefused(f"{path} is not an Ed25519 public key")
    return key
