"""Encode PDUs to bytes and decode them back, strictly (SMPP 3.4 §3, §4, §5).

The per-PDU functions are compiled once, at import, from the data in
`smpp.layout`: straight-line code with no per-field dispatch is what makes a
pure-Python codec fast (the technique of ``collections.namedtuple`` and attrs).
``decode`` raises only `RemoteProtocolError` (with the command_status to answer
with); ``encode`` raises only `LocalProtocolError`.
"""

from __future__ import annotations

import linecache
import struct
from collections.abc import Callable

from smpp import pdu as _pdu
from smpp.constants import HEADER_LENGTH, RESPONSE_BIT
from smpp.constants import CommandStatus as S
from smpp.errors import LocalProtocolError, RemoteProtocolError
from smpp.layout import LAYOUTS, Field
from smpp.tlv import SPECS, Kind, TlvValue

_HEADER = struct.Struct(">IIII")
_TLV_HEADER = struct.Struct(">HH")
_UNSUCCESS_TAIL = struct.Struct(">xI")


class _FieldError(Exception):
    """Raised inside a compiled decoder; `decode` adds the header's ids."""

    def __init__(self, message: str, status: S) -> None:
        super().__init__(message)
        self.status = status


def _cstring_error(data: bytes, pos: int, end: int, size: int, name: str, status: S) -> None:
    if data.find(0, pos, end) < 0:
        raise _FieldError(f"{name}: no NUL terminator before the end of the PDU", S.ESME_RINVCMDLEN)
    raise _FieldError(f"{name}: longer than {size - 1} characters", status)


def _decode_cstring(data: bytes, pos: int, size: int, name: str, status: S) -> tuple[str, int]:
    """Out-of-line C-octet string reader for the list fields of submit_multi."""
    zero = data.find(0, pos, pos + size)
    if zero < 0:
        _cstring_error(data, pos, len(data), size, name, status)
    return data[pos:zero].decode("latin-1"), zero + 1


def _decode_dest_addresses(
    data: bytes, pos: int
) -> tuple[tuple[_pdu.SmeAddress | _pdu.DistributionList, ...], int]:
    """number_of_dests then dest_address structures (§4.5.1)."""
    count = data[pos]
    pos += 1
    if not 1 <= count <= 254:
        raise _FieldError(f"number_of_dests {count} not in 1..254", S.ESME_RINVNUMDESTS)
    dests: list[_pdu.SmeAddress | _pdu.DistributionList] = []
    for _ in range(count):
        flag = data[pos]
        if flag == 1:
            ton, npi = data[pos + 1], data[pos + 2]
            address, pos = _decode_cstring(data, pos + 3, 21, "dest_address", S.ESME_RINVDSTADR)
            dests.append(_pdu.SmeAddress(ton, npi, address))
        elif flag == 2:
            name, pos = _decode_cstring(data, pos + 1, 21, "dl_name", S.ESME_RINVDLNAME)
            dests.append(_pdu.DistributionList(name))
        else:
            raise _FieldError(f"dest_flag {flag} is neither 1 nor 2", S.ESME_RINVDESTFLAG)
    return tuple(dests), pos


def _decode_unsuccess_sme(data: bytes, pos: int) -> tuple[tuple[_pdu.UnsuccessSme, ...], int]:
    """no_unsuccess then unsuccess_sme structures (§4.5.2)."""
    count = data[pos]
    pos += 1
    entries = []
    for _ in range(count):
        ton, npi = data[pos], data[pos + 1]
        address, pos = _decode_cstring(data, pos + 2, 21, "dest_addr", S.ESME_RINVDSTADR)
        (error,) = struct.unpack_from(">I", data, pos)
        pos += 4
        entries.append(_pdu.UnsuccessSme(ton, npi, address, error))
    return tuple(entries), pos


_TLV_INT, _TLV_CSTRING = int(Kind.INT), int(Kind.CSTRING)
_TLV_RULES: dict[int, tuple[int, int, int, bytes]] = {
    int(tag): (
        int(spec.kind),
        spec.min_length,
        spec.max_length,
        _TLV_HEADER.pack(tag, spec.max_length),
    )
    for tag, spec in SPECS.items()
}
"""`smpp.tlv.SPECS` as plain tuples: kind, min and max length, and the header
of a full-length value (an integer tag's header is a constant)."""


def _decode_tlvs(data: bytes, pos: int, end: int) -> dict[int, TlvValue]:
    """The optional parameters after the mandatory body (§3.2.4, §5.3)."""
    tlvs: dict[int, TlvValue] = {}
    while pos < end:
        if pos + 4 > end:
            raise _FieldError("truncated TLV header", S.ESME_RINVOPTPARSTREAM)
        tag, length = _TLV_HEADER.unpack_from(data, pos)
        start = pos + 4
        pos = start + length
        if pos > end:
            raise _FieldError(f"TLV 0x{tag:04x} runs past the PDU", S.ESME_RINVOPTPARSTREAM)
        rule = _TLV_RULES.get(tag)
        if rule is None:
            tlvs[tag] = data[start:pos]
            continue
        kind, low, high, _ = rule
        if kind == _TLV_CSTRING:
            if length and data[pos - 1] == 0:
                raw = data[start : pos - 1]
            elif length >= high:
                raise _FieldError(f"TLV 0x{tag:04x} too long", S.ESME_RINVPARLEN)
            else:
                raw = data[start:pos]
            if length > high or 0 in raw:
                raise _FieldError(f"TLV 0x{tag:04x} is not a C-octet string", S.ESME_RINVPARLEN)
            tlvs[tag] = raw.decode("latin-1")
        elif not low <= length <= high:
            raise _FieldError(
                f"TLV 0x{tag:04x} has length {length}, expected {low}..{high}",
                S.ESME_RINVPARLEN,
            )
        elif kind == _TLV_INT:
            tlvs[tag] = data[start] if length == 1 else int.from_bytes(data[start:pos], "big")
        else:
            tlvs[tag] = data[start:pos]
    return tlvs


def _encode_tlvs(tlvs: dict[int, TlvValue]) -> bytes:
    out = []
    for tag, value in tlvs.items():
        rule = _TLV_RULES.get(tag)
        if rule is None:
            if not isinstance(value, bytes):
                raise LocalProtocolError(f"unknown TLV 0x{tag:04x} needs a bytes value")
            out.append(_TLV_HEADER.pack(tag, len(value)))
            out.append(value)
            continue
        kind, low, high, full_header = rule
        if kind == _TLV_INT:
            if not isinstance(value, int):
                raise LocalProtocolError(f"TLV 0x{tag:04x} needs an int value")
            out.append(full_header)
            out.append(value.to_bytes(high, "big"))
            continue
        if kind == _TLV_CSTRING:
            if not isinstance(value, str):
                raise LocalProtocolError(f"TLV 0x{tag:04x} needs a str value")
            raw = value.encode("latin-1") + b"\0"
        else:
            raw = value
            if not isinstance(raw, bytes):
                raise LocalProtocolError(f"TLV 0x{tag:04x} needs a bytes value")
        if not low <= len(raw) <= high:
            raise LocalProtocolError(
                f"TLV 0x{tag:04x} value of {len(raw)} octets, allowed {low}..{high}",
                S.ESME_RINVPARLEN,
            )
        out.append(_TLV_HEADER.pack(tag, len(raw)))
        out.append(raw)
    return b"".join(out)


def _encode_dest_addresses(dests: tuple[_pdu.SmeAddress | _pdu.DistributionList, ...]) -> bytes:
    if not 1 <= len(dests) <= 254:
        raise LocalProtocolError("submit_multi needs 1..254 dest_addresses", S.ESME_RINVNUMDESTS)
    out = [bytes((len(dests),))]
    for dest in dests:
        if isinstance(dest, _pdu.SmeAddress):
            _check_length("dest_address", dest.address, 21, S.ESME_RINVDSTADR)
            out.append(bytes((1, dest.ton, dest.npi)) + dest.address.encode("latin-1") + b"\0")
        else:
            _check_length("dl_name", dest.name, 21, S.ESME_RINVDLNAME)
            out.append(b"\x02" + dest.name.encode("latin-1") + b"\0")
    return b"".join(out)


def _encode_unsuccess_sme(entries: tuple[_pdu.UnsuccessSme, ...]) -> bytes:
    if len(entries) > 255:
        raise LocalProtocolError("at most 255 unsuccess_sme entries")
    out = [bytes((len(entries),))]
    for entry in entries:
        _check_length("dest_addr", entry.address, 21, S.ESME_RINVDSTADR)
        out.append(bytes((entry.ton, entry.npi)) + entry.address.encode("latin-1"))
        out.append(_UNSUCCESS_TAIL.pack(entry.error_status_code))
    return b"".join(out)


def _check_length(name: str, value: str, size: int, status: S) -> None:
    if len(value) >= size:
        raise LocalProtocolError(f"{name}: longer than {size - 1} characters", status)
    if "\0" in value:
        raise LocalProtocolError(f"{name}: a C-octet string cannot hold NUL", status)


def _check_time(name: str, value: str, status: S) -> None:
    if len(value) not in (0, 16) or "\0" in value:
        raise LocalProtocolError(f"{name}: must be empty or 16 characters", status)


def _check_short_message(value: bytes) -> None:
    if len(value) > 254:
        raise LocalProtocolError(
            "short_message: longer than 254 octets (use message_payload)", S.ESME_RINVMSGLEN
        )


class _Compiler:
    """Turns one layout into the source of a decoder and an encoder."""

    def __init__(self, cls: type[_pdu.Pdu], fields: tuple[Field, ...]) -> None:
        self.cls = cls
        self.fields = fields
        self.namespace: dict[str, object] = {}

    def _const(self, value: object) -> str:
        name = f"_k{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def decoder_source(self, name: str) -> str:
        lines = [f"def {name}(data, seq, status, end):"]
        if self.cls.command_id & RESPONSE_BIT:
            lines.append("    if end == 16: return cls(seq, status)")
        lines.append("    pos = 16")
        offset = 0
        for f in self.fields:
            n = f.name
            if f.kind == "u8":
                lines.append(
                    f"    {n} = data[pos + {offset}]" if offset else f"    {n} = data[pos]"
                )
                offset += 1
                continue
            if offset:
                lines.append(f"    pos += {offset}")
                offset = 0
            size, status = f.size, self._const(f.status)
            if f.kind in ("cstring", "time"):
                lines += [
                    "    if data[pos] == 0:",
                    f"        {n} = ''",
                    "        pos += 1",
                    "    else:",
                    f"        z = data.find(0, pos, pos + {size})",
                    "        if z < 0:",
                    f"            _cstring_error(data, pos, end, {size}, {n!r}, {status})",
                ]
                if f.kind == "time":
                    lines += [
                        "        if z - pos != 16:",
                        f"            raise _FieldError('{n}: must be empty or 16 characters',"
                        f" {status})",
                    ]
                lines += [f"        {n} = data[pos:z].decode('latin-1')", "        pos = z + 1"]
            elif f.kind == "short_message":
                lines += [
                    "    sm_length = data[pos]",
                    "    if sm_length > 254:",
                    f"        raise _FieldError('sm_length over 254', {status})",
                    "    pos += 1",
                    f"    {n} = data[pos:pos + sm_length]",
                    f"    if len({n}) != sm_length:",
                    f"        raise _FieldError('short_message shorter than sm_length', {status})",
                    "    pos += sm_length",
                ]
            else:
                lines.append(f"    {n}, pos = _decode_{f.kind}(data, pos)")
        if offset:
            lines.append(f"    pos += {offset}")
        lines.append("    tlvs = _decode_tlvs(data, pos, end) if pos < end else {}")
        args = ", ".join(self.cls.__struct_fields__[2:])
        lines.append(f"    return cls(seq, status, {args})")
        return "\n".join(lines) + "\n"

    def encoder_source(self, name: str) -> str:
        checks: list[str] = []
        pieces: list[str] = []
        lengths: list[str] = []
        fixed = HEADER_LENGTH
        run_format, run_args = "", []

        def flush() -> None:
            nonlocal run_format, run_args, fixed
            if not run_format:
                return
            packer = struct.Struct(">" + run_format)
            fixed += packer.size
            if run_args:
                pieces.append(f"{self._const(packer)}.pack({', '.join(run_args)})")
            else:
                pieces.append(self._const(packer.pack()))
            run_format, run_args = "", []

        for f in self.fields:
            n = f.name
            if f.kind == "u8":
                run_format += "B"
                run_args.append(f"p.{n}")
                continue
            flush()
            status = self._const(f.status)
            if f.kind in ("cstring", "time"):
                checks.append(f"    {n} = p.{n}.encode('latin-1')")
                checks.append(f"    {n}_len = len({n})")
                check = "_check_time" if f.kind == "time" else "_check_length"
                size_arg = "" if f.kind == "time" else f", {f.size}"
                too_long = "%s not in (0, 16)" if f.kind == "time" else f"%s >= {f.size}"
                checks.append(f"    if {too_long % (n + '_len')} or 0 in {n}:")
                checks.append(f"        {check}({n!r}, p.{n}{size_arg}, {status})")
                pieces.append(n)
                lengths.append(f"{n}_len")
                run_format = "x"
            elif f.kind == "short_message":
                checks.append(f"    {n} = p.{n}")
                checks.append(f"    {n}_len = len({n})")
                checks.append(f"    if {n}_len > 254: _check_short_message({n})")
                pieces.append(f"_k_len_byte[{n}_len]")
                pieces.append(n)
                lengths.append(f"{n}_len")
                fixed += 1
            else:
                checks.append(f"    {n} = _encode_{f.kind}(p.{n})")
                pieces.append(n)
                lengths.append(f"len({n})")
        flush()
        lines = [f"def {name}(p, seq):"]
        if self.cls.command_id & RESPONSE_BIT and self.fields:
            lines += self._bodyless_error_source()
        lines += checks
        lines.append("    tlvs = _encode_tlvs(p.tlvs) if p.tlvs else b''")
        total = " + ".join([str(fixed), *lengths, "len(tlvs)"])
        cid = self._const(int(self.cls.command_id))
        header = f"_HEADER.pack({total}, {cid}, p.command_status, seq)"
        lines.append(f"    return b''.join(({', '.join([header, *pieces, 'tlvs'])},))")
        return "\n".join(lines) + "\n"

    def _bodyless_error_source(self) -> list[str]:
        """A response with a non-zero status and nothing set goes without a
        body, as §4.1.2, §4.4.2 and their siblings ask."""
        defaults = [
            f"p.{f.name} == {self._const(_default_of(self.cls, f.name))}" for f in self.fields
        ]
        cid = self._const(int(self.cls.command_id))
        return [
            f"    if p.command_status and not p.tlvs and {' and '.join(defaults)}:",
            f"        return _HEADER.pack(16, {cid}, p.command_status, seq)",
        ]

    def compile(self) -> tuple[Callable[..., _pdu.Pdu], Callable[[_pdu.Pdu, int], bytes]]:
        names = set(self.cls.__struct_fields__[3:])
        if names != {f.name for f in self.fields} or len(names) != len(self.fields):
            raise AssertionError(f"layout of {self.cls.__name__} does not match its fields")
        stem = self.cls.__name__
        source = self.decoder_source(f"decode_{stem}") + self.encoder_source(f"encode_{stem}")
        filename = f"<smpp.codec {stem}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        namespace = {**globals(), **self.namespace, "cls": self.cls}
        exec(compile(source, filename, "exec"), namespace)
        return namespace[f"decode_{stem}"], namespace[f"encode_{stem}"]  # type: ignore[return-value]


def _default_of(cls: type[_pdu.Pdu], name: str) -> object:
    fields, defaults = cls.__struct_fields__, cls.__struct_defaults__
    return defaults[fields.index(name) - (len(fields) - len(defaults))]


_k_len_byte = [bytes((n,)) for n in range(256)]

_DECODERS: dict[int, Callable[[bytes, int, int, int], _pdu.Pdu]] = {}
_ENCODERS: dict[type[_pdu.Pdu], Callable[[_pdu.Pdu, int], bytes]] = {}
for _cls, _fields in LAYOUTS.items():
    _DECODERS[_cls.command_id], _ENCODERS[_cls] = _Compiler(_cls, _fields).compile()


def decode(data: bytes) -> _pdu.Pdu:
    """Decode one whole PDU (header included), as the framer hands it over."""
    if type(data) is not bytes:
        data = bytes(data)
    end = len(data)
    if end < HEADER_LENGTH:
        raise RemoteProtocolError(f"{end} octets is shorter than a header", S.ESME_RINVCMDLEN)
    length, command_id, status, sequence = _HEADER.unpack_from(data)
    if length != end:
        raise RemoteProtocolError(
            f"command_length {length} but {end} octets",
            S.ESME_RINVCMDLEN,
            command_id=command_id,
            sequence_number=sequence,
        )
    decoder = _DECODERS.get(command_id)
    if decoder is None:
        raise RemoteProtocolError(
            f"unknown command_id 0x{command_id:08x}",
            S.ESME_RINVCMDID,
            command_id=command_id,
            sequence_number=sequence,
        )
    try:
        return decoder(data, sequence, status, end)
    except _FieldError as exc:
        raise RemoteProtocolError(
            str(exc), exc.status, command_id=command_id, sequence_number=sequence
        ) from None
    except (IndexError, struct.error):
        raise RemoteProtocolError(
            "PDU ends inside its mandatory fields",
            S.ESME_RINVCMDLEN,
            command_id=command_id,
            sequence_number=sequence,
        ) from None


def encode(pdu: _pdu.Pdu, sequence_number: int | None = None) -> bytes:
    """Encode one PDU with its header; every field is checked against the spec.

    ``sequence_number``, when given, goes on the wire instead of the PDU's own:
    a session numbers a request without building a copy of it.
    """
    encoder = _ENCODERS.get(type(pdu))
    if encoder is None:
        raise LocalProtocolError(f"not a PDU: {type(pdu).__name__}")
    if sequence_number is None:
        sequence_number = pdu.sequence_number
    try:
        return encoder(pdu, sequence_number)
    except (struct.error, UnicodeEncodeError, OverflowError, TypeError, AttributeError) as exc:
        reason = _describe_invalid(pdu, sequence_number, exc)
        raise LocalProtocolError(f"{type(pdu).__name__}: {reason}") from None


def _describe_invalid(pdu: _pdu.Pdu, sequence_number: int, exc: Exception) -> str:
    """Name the field behind an encode failure (slow path: errors only)."""
    for name, value in (
        ("sequence_number", sequence_number),
        ("command_status", pdu.command_status),
    ):
        if not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
            return f"{name}={value!r} is not a 32-bit unsigned integer"
    for f in LAYOUTS[type(pdu)]:
        value = getattr(pdu, f.name)
        if f.kind == "u8" and (not isinstance(value, int) or not 0 <= value <= 255):
            return f"{f.name}={value!r} is not an integer in 0..255"
        if f.kind in ("cstring", "time"):
            if not isinstance(value, str):
                return f"{f.name}={value!r} is not a str"
            if not value.isascii():
                return f"{f.name}={value!r} is not ASCII"
        if f.kind == "short_message" and not isinstance(value, bytes):
            return f"{f.name} must be bytes, not {type(value).__name__}"
    return str(exc)
