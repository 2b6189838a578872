import asyncio

from engine.customers.passwords import (
    PasswordChecker,
    TrustedPasswords,
    hash_password,
    verify_password,
)
from tests.clock import FakeClock

STORED = hash_password("s3cret", log2_n=10)


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


def trusted(clock: FakeClock) -> tuple[TrustedPasswords, PasswordChecker]:
    checker = PasswordChecker(at_once=2, remember_failures=300.0, clock=clock)
    return TrustedPasswords(checker, ttl=10.0, clock=clock), checker


async def test_concurrent_checks_of_one_password_share_one_scrypt_run() -> None:
    passwords, checker = trusted(FakeClock())
    answers = await asyncio.gather(*(passwords.verify("bank", "s3cret", STORED) for _ in range(8)))
    assert answers == [True] * 8
    assert checker.counts["checked"] == 1


async def test_a_trusted_password_is_renewed_while_it_is_used() -> None:
    clock = FakeClock()
    passwords, checker = trusted(clock)
    for moment in (0.0, 9.0, 18.0, 27.0):  # each use within ten seconds of the last
        clock.now = moment
        assert await passwords.verify("bank", "s3cret", STORED)
    assert checker.counts["checked"] == 1
    clock.advance(10.5)  # unused for longer than it is trusted: checked again
    assert await passwords.verify("bank", "s3cret", STORED)
    assert checker.counts["checked"] == 2


async def test_a_wrong_password_is_never_trusted() -> None:
    passwords, checker = trusted(FakeClock())
    assert not await passwords.verify("bank", "guess", STORED)
    assert not await passwords.verify("bank", "guess", STORED)
    assert checker.counts["checked"] == 1 and checker.counts["remembered"] == 1
    assert await passwords.verify("bank", "s3cret", STORED)
