from engine.customers.passwords import hash_password, verify_password


def test_a_hash_verifies_its_password_only() -> None:
    stored = hash_password("s3cret", log2_n=10)
    assert stored.startswith("scrypt$10$")
    assert verify_password("s3cret", stored)
    assert not verify_password("s3cret!", stored)


def test_two_hashes_of_one_password_differ_by_salt() -> None:
    assert hash_password("x", log2_n=10) != hash_password("x", log2_n=10)


def test_malformed_stored_hashes_never_match() -> None:
    for stored in ("", "plain", "md5$1$2$3$4$5", "scrypt$x$8$1$AAAA$AAAA", "scrypt$10$8$1$!!$!!"):
        assert not verify_password("x", stored)
