from audit.passwords import hash_password, password_problems, verify_password


def test_argon2id_round_trip_and_parameters():
    h = hash_password("correct horse battery")
    assert h.startswith("$argon2id$") and "m=19456,t=2,p=1" in h
    assert verify_password(h, "correct horse battery")
    assert not verify_password(h, "correct horse batterY")
    assert not verify_password("not-a-hash", "x")
    assert not verify_password(None, "x")


def test_weak_passwords_are_refused_with_reasons():
    assert password_problems("short") and password_problems("aaaaaaaaaaaa")
    assert password_problems("Adequate-Passw0rd") == []
