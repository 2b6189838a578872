"""Destination numbers brought to international form (E.164 digits, no ``+``).

Prefix filters and tariffs are written in international form, but ESMEs often
submit national numbers (``0612345678``) or international ones with an access
code (``0033612345678``). Each account may name a default country whose rule
says how its national numbers look. Terms are those of ITU-T E.164: an
international number is the country code followed by the national significant
number (§6); the trunk prefix (``0`` in France) and the international prefix
(``00``) are dialling conventions of each country, not part of the number.

The rule is a small table entry rather than a phonenumbers lookup: parsing with
phonenumbers costs about 11 microseconds per number, most of the decision budget,
and routing only needs the country code, the trunk prefix and the lengths.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CountryRule:
    """How national numbers of one country are written.

    ``national_lengths`` are the accepted lengths of the national significant
    number (the digits after the country code); only a number of such a length is
    rewritten, so a short code or a malformed number is left alone.
    """

    calling_code: str
    trunk_prefix: str
    international_prefix: str
    national_lengths: frozenset[int]

    def to_international(self, number: str) -> str:
        """``number`` in international form, or unchanged when it is not national.

        Order matters: the international prefix (``00``) is tried before the
        trunk prefix (``0``) because the trunk prefix is usually its first digit.
        A country without a trunk prefix (Italy, Spain) writes national numbers
        as the bare national significant number.
        """
        if number.startswith("+"):
            return number[1:]
        if self.international_prefix and number.startswith(self.international_prefix):
            return number[len(self.international_prefix) :]
        if self.trunk_prefix:
            if number.startswith(self.trunk_prefix):
                national = number[len(self.trunk_prefix) :]
                if len(national) in self.national_lengths and national.isdigit():
                    return self.calling_code + national
            return number
        if len(number) in self.national_lengths and number.isdigit():
            return self.calling_code + number
        return number


def without_plus(number: str) -> str:
    """International form of a number when the account has no default country."""
    return number.removeprefix("+")
