from web.passwords import dummy_hash, hash_password, verify_password


def test_hash_is_argon2id_and_salted():
    first, second = hash_password("s3cret pass"), hash_password("s3cret pass")
    assert first.startswith("$argon2id$")
    assert first != second


def test_verify_accepts_the_right_password_only():
    hashed = hash_password("s3cret pass")
    assert verify_password(hashed, "s3cret pass")
    assert not verify_password(hashed, "s3cret pasS")
    assert not verify_password(hashed, "")


def test_verify_is_false_for_a_hash_that_is_not_argon2():
    assert not verify_password("$7$101$abc$def", "anything")
    assert not verify_password("", "anything")


def test_dummy_hash_matches_no_ordinary_password():
    assert dummy_hash().startswith("$argon2id$")
    assert not verify_password(dummy_hash(), "")
