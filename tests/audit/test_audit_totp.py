"""The TOTP layer against RFC 6238 Appendix B, and secret encryption at rest."""
from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography.fernet import Fernet

from audit import totp


SEEDS = {"sha1": b"12345678901234567890", "sha256": b"12345678901234567890123456789012",
         "sha512": b"1234567890123456789012345678901234567890123456789012345678901234"}
VECTORS = [  # RFC 6238 Appendix B: T, SHA1, SHA256, SHA512 (8 digits)
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.requirement("21CFR11.200", "21CFR11.300")
@pytest.mark.parametrize("t, sha1, sha256, sha512", VECTORS)
def test_rfc6238_appendix_b_vectors(t, sha1, sha256, sha512):
    import hashlib
    for name, expected in (("sha1", sha1), ("sha256", sha256), ("sha512", sha512)):
        secret = base64.b32encode(SEEDS[name]).decode()
        otp = totp.totp(secret, digits=8, digest=getattr(hashlib, name))
        assert otp.at(t) == expected
        # and our verifier returns that vector's time-step (T / 30)
        assert otp.verify_and_get_timecode(expected, for_time=t, valid_window=1) == t // 30


@pytest.mark.requirement("21CFR11.200", "21CFR11.300")
def test_matching_timecode_allows_one_step_of_drift_only():
    secret = totp.new_secret()
    now = dt.datetime(2026, 11, 26, 9, 0, 15, tzinfo=dt.timezone.utc)
    otp = totp.totp(secret)
    step = int(now.timestamp()) // 30
    assert totp.matching_timecode(secret, otp.at(now), now) == step
    assert totp.matching_timecode(secret, otp.at(now, counter_offset=-1), now) == step - 1
    assert totp.matching_timecode(secret, otp.at(now, counter_offset=1), now) == step + 1
    assert totp.matching_timecode(secret, otp.at(now, counter_offset=-2), now) is None
    assert totp.matching_timecode(secret, otp.at(now, counter_offset=2), now) is None
    assert totp.matching_timecode(secret, "12345", now) is None
    assert totp.matching_timecode(secret, None, now) is None
    code = otp.at(now)
    assert totp.matching_timecode(secret, f"{code[:3]} {code[3:]}", now) == step


@pytest.mark.requirement("21CFR11.200", "21CFR11.300")
def test_secrets_are_160_bits_and_encrypted_with_the_configured_key():
    secret = totp.new_secret()
    assert len(base64.b32decode(secret)) == 20
    key = Fernet.generate_key()
    token = totp.encrypt_secret(key, secret)
    assert secret not in token
    assert totp.decrypt_secret(key, token) == secret
    with pytest.raises(totp.TotpKeyError):
        totp.decrypt_secret(Fernet.generate_key(), token)
    with pytest.raises(totp.TotpKeyError):
        totp.encrypt_secret("not-a-key", secret)


@pytest.mark.requirement("21CFR11.200", "21CFR11.300")
def test_provisioning_qr_is_an_svg_of_the_otpauth_uri():
    secret = totp.new_secret()
    uri = totp.provisioning_uri(secret, "alice", "Sealtrail")
    assert uri.startswith("otpauth://totp/Sealtrail:alice?") and f"secret={secret}" in uri
    svg = totp.qr_svg(uri)
    assert svg.lstrip().startswith("<svg") and "</svg>" in svg
