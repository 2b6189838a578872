"""Hypothesis strategies that build any valid PDU from the codec's own layout table."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from smpp import pdu
from smpp.layout import LAYOUTS, Field
from smpp.tlv import SPECS, Kind

C_CHARS = st.characters(min_codepoint=1, max_codepoint=255)


def c_string(size: int) -> st.SearchStrategy[str]:
    return st.text(C_CHARS, max_size=size - 1)


def smpp_time() -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), st.text(C_CHARS, min_size=16, max_size=16))


def tlv_value(tag: int) -> st.SearchStrategy[Any]:
    spec = SPECS[tag]
    if spec.kind is Kind.INT:
        return st.integers(0, 2 ** (8 * spec.max_length) - 1)
    if spec.kind is Kind.CSTRING:
        return c_string(spec.max_length)
    return st.binary(min_size=spec.min_length, max_size=min(spec.max_length, 300))


UNKNOWN_TAGS = st.integers(0, 0xFFFF).filter(lambda tag: tag not in SPECS)
KNOWN_TLV = st.sampled_from(sorted(SPECS)).flatmap(
    lambda tag: st.tuples(st.just(tag), tlv_value(tag))
)
UNKNOWN_TLV = st.tuples(UNKNOWN_TAGS, st.binary(max_size=20))
TLVS = st.lists(st.one_of(KNOWN_TLV, UNKNOWN_TLV), max_size=4).map(dict)

DEST_ADDRESS = st.one_of(
    st.builds(pdu.SmeAddress, st.integers(0, 255), st.integers(0, 255), c_string(21)),
    st.builds(pdu.DistributionList, c_string(21)),
)
UNSUCCESS = st.builds(
    pdu.UnsuccessSme,
    st.integers(0, 255),
    st.integers(0, 255),
    c_string(21),
    st.integers(0, 0xFFFFFFFF),
)


def _field(field: Field) -> st.SearchStrategy[Any]:
    if field.kind == "u8":
        return st.integers(0, 255)
    if field.kind == "cstring":
        return c_string(field.size)
    if field.kind == "time":
        return smpp_time()
    if field.kind == "short_message":
        return st.binary(max_size=254)
    if field.kind == "dest_addresses":
        return st.lists(DEST_ADDRESS, min_size=1, max_size=5).map(tuple)
    return st.lists(UNSUCCESS, max_size=5).map(tuple)


def pdus(cls: type[pdu.Pdu]) -> st.SearchStrategy[pdu.Pdu]:
    fields = {f.name: _field(f) for f in LAYOUTS[cls]}
    return st.builds(
        cls,
        sequence_number=st.integers(0, 0xFFFFFFFF),
        command_status=st.integers(0, 0xFFFFFFFF),
        tlvs=TLVS,
        **fields,
    )


ANY_PDU = st.sampled_from(pdu.PDU_CLASSES).flatmap(pdus)
