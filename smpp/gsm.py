"""The GSM 03.38 default alphabet (3GPP TS 23.038 §6.2.1) and its packing.

SMPP carries data_coding 0 text as *unpacked* septets, one per octet; the
air interface and some operators use *packed* 7-bit, eight septets in seven
octets (§6.1.2.1.1). Both are here. A character of the extension table
(§6.2.1.1) costs two septets: the escape 0x1B, then its code.

Encoding is strict (the first character that has no septet is named with its
index); decoding never raises, because incoming bytes are the peer's problem
and a message must still be delivered.
"""

from __future__ import annotations

from codecs import charmap_decode as _charmap_decode

from smpp.errors import SmppError

ESCAPE = 0x1B
"""Escape to the extension table (§6.2.1, footnote 1)."""

BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
"""Character of each septet 0x00..0x7F (§6.2.1); 0x1B is the escape itself."""

EXTENSION_TABLE = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}
"""Septet after an escape -> character (§6.2.1.1); 0x0A is the page break."""

_REPLACEMENT = "\ufffd"
_UNENCODABLE = "\uffff"
"""Marks a character below U+0100 that has no septet, so that a translated
text is pure ASCII exactly when every character was encodable."""


def _build_encode_table() -> dict[int, str]:
    table = {code: _UNENCODABLE for code in range(0x100)}
    for septet, char in enumerate(BASIC_TABLE):
        if septet != ESCAPE:
            table[ord(char)] = chr(septet)
    for septet, char in EXTENSION_TABLE.items():
        table[ord(char)] = chr(ESCAPE) + chr(septet)
    return table


_ENCODE_TABLE = _build_encode_table()
_ESCAPE_ONLY_TABLE = {
    code: "\x1b" if len(septets) == 2 else septets for code, septets in _ENCODE_TABLE.items()
}
_EXTENSION_CHARACTERS = tuple(EXTENSION_TABLE.values())
_DECODE_TABLE = BASIC_TABLE + _REPLACEMENT * (0x100 - len(BASIC_TABLE))
"""Octet -> character, escapes kept for `decode` to pair, for
`codecs.charmap_decode` (how the stdlib's single-byte codecs decode): 0.21 µs
for 57 septets, against 0.5 for ``str.translate`` with a dict."""
_EXTENSION_BY_ESCAPED_BASIC = tuple(
    ("\x1b" + BASIC_TABLE[septet], char) for septet, char in EXTENSION_TABLE.items()
)
CHARACTERS = frozenset(
    chr(code) for code, septets in _ENCODE_TABLE.items() if septets != _UNENCODABLE
)
"""Every character `encode` accepts."""


class UnencodableError(SmppError, ValueError):
    """A character has no code in the alphabet asked for.

    ``char`` and ``index`` (its position in the text) say which, so an API
    answer can point at it.
    """

    def __init__(self, alphabet: str, char: str, index: int) -> None:
        super().__init__(f"{char!r} (U+{ord(char):04X}) at index {index} is not in {alphabet}")
        self.alphabet = alphabet
        self.char = char
        self.index = index


def _first_unencodable(text: str) -> UnencodableError:
    for index, char in enumerate(text):
        if char not in CHARACTERS:
            return UnencodableError("the GSM 03.38 alphabet", char, index)
    raise AssertionError("text is encodable")


def _septet_count_or_none(text: str) -> int | None:
    """Septets of ``text``, or None if a character has none.

    ASCII text (most traffic) goes through `str.translate`'s ASCII fast path,
    which only keeps going while every result is one ASCII character; hence
    a table with one escape per extension character, counted afterwards.
    """
    if text.isascii():
        septets = text.translate(_ESCAPE_ONLY_TABLE)
        if not septets.isascii():
            return None
        return len(text) + septets.count("\x1b")
    if not CHARACTERS.issuperset(text):
        return None
    return len(text) + sum(map(text.count, _EXTENSION_CHARACTERS))


def is_encodable(text: str) -> bool:
    """Whether every character of ``text`` is in the default alphabet or its
    extension table."""
    return _septet_count_or_none(text) is not None


def septet_count(text: str) -> int:
    """Septets ``text`` takes, extension characters counting two. Raises
    `UnencodableError` like `encode`."""
    count = _septet_count_or_none(text)
    if count is None:
        raise _first_unencodable(text)
    return count


def encode(text: str) -> bytes:
    """Text -> unpacked septets, one per octet, an escape pair per extension
    character (§6.2.1.1). Raises `UnencodableError` on the first character
    that has no septet."""
    septets = text.translate(_ENCODE_TABLE)
    if not septets.isascii():
        raise _first_unencodable(text)
    return septets.encode("ascii")


def decode(septets: bytes) -> str:
    """Unpacked septets -> text. Never raises: an octet above 0x7F is not a
    septet and decodes to U+FFFD.

    Escapes pair left to right (§6.2.1.1). Escape-escape is reserved for a
    further table and shows a space, as does an escape with nothing after it
    (§6.2.1, footnote 1); an escape before a code the extension table lacks
    shows the basic table's character for that code.
    """
    text = _charmap_decode(septets, "strict", _DECODE_TABLE)[0]
    if "\x1b" not in text:
        return text
    text = text.replace("\x1b\x1b", " ")
    for escaped, char in _EXTENSION_BY_ESCAPED_BASIC:
        text = text.replace(escaped, char)
    if text.endswith("\x1b"):
        text = text[:-1] + " "
    return text.replace("\x1b", "")


def _check_fill_bits(fill_bits: int) -> None:
    if not 0 <= fill_bits <= 6:
        raise ValueError(f"fill_bits must be 0..6, not {fill_bits}")


def fill_bits_after(header_octets: int) -> int:
    """Fill bits that put the first septet after a user data header of
    ``header_octets`` octets (UDHL included) on a septet boundary, counted
    from the start of the user data (3GPP TS 23.040 §9.2.3.24)."""
    if header_octets < 0:
        raise ValueError(f"header_octets must be >= 0, not {header_octets}")
    return -header_octets * 8 % 7


def pack(septets: bytes, fill_bits: int = 0) -> bytes:
    """Unpacked septets -> packed 7-bit (§6.1.2.1.1), least significant bit
    first. ``fill_bits`` zero bits come first, so that text after a user data
    header starts on a septet boundary (3GPP TS 23.040 §9.2.3.24)."""
    _check_fill_bits(fill_bits)
    out = bytearray()
    accumulator = 0
    bits = fill_bits
    for septet in septets:
        if septet > 0x7F:
            raise ValueError(f"0x{septet:02X} is not a septet")
        accumulator |= septet << bits
        bits += 7
        if bits >= 8:
            out.append(accumulator & 0xFF)
            accumulator >>= 8
            bits -= 8
    if bits:
        out.append(accumulator)
    return bytes(out)


def unpack(data: bytes, septet_count: int | None = None, fill_bits: int = 0) -> bytes:
    """Packed 7-bit -> unpacked septets, skipping ``fill_bits`` first.

    SMPP has no septet count, so by default every whole septet in ``data`` is
    read; when the last octet has 7 spare bits (7, 15, 23... septets without
    fill bits) they read as a trailing ``@`` (0x00), which a caller that
    knows the count avoids by passing it.
    """
    _check_fill_bits(fill_bits)
    available = (len(data) * 8 - fill_bits) // 7 if data else 0
    if septet_count is None:
        septet_count = available
    elif not 0 <= septet_count <= available:
        raise ValueError(f"{len(data)} octets hold {available} septets, not {septet_count}")
    out = bytearray()
    accumulator = 0
    bits = -fill_bits
    for octet in data:
        if len(out) == septet_count:
            break
        accumulator |= octet << bits if bits >= 0 else octet >> -bits
        bits += 8
        while bits >= 7 and len(out) < septet_count:
            out.append(accumulator & 0x7F)
            accumulator >>= 7
            bits -= 7
    return bytes(out)
