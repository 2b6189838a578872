"""Codes are uniform digits of the asked length; their digests bind salt, id and secret."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from engine.verify.codes import DIGITS, CodeHasher, new_code, new_salt
from engine.verify.settings import CODE_LENGTH

lengths = st.integers(CODE_LENGTH[0], CODE_LENGTH[1])
codes = st.text(DIGITS, min_size=CODE_LENGTH[0], max_size=CODE_LENGTH[1])


@given(lengths)
def test_a_code_is_digits_of_the_asked_length(length: int) -> None:
    code = new_code(length)
    assert len(code) == length
    assert set(code) <= set(DIGITS)


def test_digits_are_uniform_in_every_position() -> None:
    """Pearson's chi-squared over 20,000 six-digit codes, per position (9
    degrees of freedom): above 40 happens by chance once in 100,000 runs;
    a biased draw (a modulo on a byte, `random`) lands far above."""
    samples = [new_code(6) for _ in range(20_000)]
    for position in range(6):
        counts = Counter(code[position] for code in samples)
        expected = len(samples) / 10
        chi2 = sum((counts[d] - expected) ** 2 / expected for d in DIGITS)
        assert chi2 < 40, (position, counts)


def test_leading_zeros_are_codes_too() -> None:
    assert any(new_code(4).startswith("0") for _ in range(1_000))


@given(codes, codes)
def test_only_the_right_code_matches(code: str, guess: str) -> None:
    hasher = CodeHasher(b"secret")
    salt = new_salt()
    digest = hasher.digest(salt, "v1", code)
    assert hasher.matches(salt, "v1", guess, digest) == (guess == code)


@given(codes)
def test_the_digest_depends_on_salt_id_and_secret(code: str) -> None:
    salt = new_salt()
    digest = CodeHasher(b"secret").digest(salt, "v1", code)
    assert code.encode() not in digest
    assert CodeHasher(b"another").digest(salt, "v1", code) != digest
    assert CodeHasher(b"secret").digest(new_salt(), "v1", code) != digest
    assert CodeHasher(b"secret").digest(salt, "v2", code) != digest
