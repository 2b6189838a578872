import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpp import codec, pdu
from smpp.constants import CommandStatus as S
from smpp.errors import FrameError
from smpp.framer import PduFramer
from tests.smpp.strategies import ANY_PDU


@settings(max_examples=200, deadline=None)
@given(st.lists(ANY_PDU, min_size=1, max_size=6), st.data())
def test_any_chunking_yields_the_same_pdus(values: list[pdu.Pdu], data: st.DataObject) -> None:
    stream = b"".join(codec.encode(v) for v in values)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    framer = PduFramer()
    frames: list[bytes] = []
    start = 0
    for cut in [*cuts, len(stream)]:
        framer.feed(stream[start:cut])
        frames.extend(framer)
        start = cut
    assert [codec.decode(f) for f in frames] == values
    assert framer.buffered == 0


@settings(max_examples=100, deadline=None)
@given(st.lists(ANY_PDU, min_size=1, max_size=6), st.data())
def test_chunks_fed_without_reading_between_yield_the_same_pdus(
    values: list[pdu.Pdu], data: st.DataObject
) -> None:
    stream = b"".join(codec.encode(v) for v in values)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    reads = data.draw(st.lists(st.booleans(), min_size=len(cuts) + 1, max_size=len(cuts) + 1))
    framer = PduFramer()
    frames: list[bytes] = []
    start = 0
    for cut, read in zip([*cuts, len(stream)], reads, strict=True):
        framer.feed(stream[start:cut])
        if read and (frame := framer.next_pdu()) is not None:
            frames.append(frame)
        start = cut
    frames.extend(framer)
    assert [codec.decode(f) for f in frames] == values
    assert framer.buffered == 0


@pytest.mark.parametrize("length", [0, 15, 1001, 0xFFFFFFFF])
def test_bad_command_length_is_refused_from_its_four_octets(length: int) -> None:
    framer = PduFramer(max_pdu_size=1000)
    framer.feed(length.to_bytes(4, "big"))
    with pytest.raises(FrameError) as caught:
        framer.next_pdu()
    assert caught.value.status == S.ESME_RINVCMDLEN
    framer.feed(b"more")
    with pytest.raises(FrameError):
        framer.next_pdu()


@pytest.mark.parametrize("length", [0, 1001])
def test_bad_command_length_is_refused_when_its_octets_come_one_by_one(length: int) -> None:
    framer = PduFramer(max_pdu_size=1000)
    for octet in length.to_bytes(4, "big")[:3]:
        framer.feed(bytes((octet,)))
        assert framer.next_pdu() is None
    framer.feed(length.to_bytes(4, "big")[3:])
    with pytest.raises(FrameError):
        framer.next_pdu()


def test_a_pdu_split_after_a_whole_one_is_gathered() -> None:
    first = codec.encode(pdu.EnquireLink(sequence_number=1))
    second = codec.encode(pdu.SubmitSmResp(sequence_number=2, message_id="abc"))
    framer = PduFramer()
    framer.feed(first + second[:3])
    assert framer.next_pdu() == first
    assert framer.next_pdu() is None
    for octet in second[3:-1]:
        framer.feed(bytes((octet,)))
        assert framer.next_pdu() is None
    assert framer.buffered == len(second) - 1
    framer.feed(second[-1:] + first)
    assert list(framer) == [second, first]


def test_frame_error_carries_the_header_when_it_arrived() -> None:
    framer = PduFramer(max_pdu_size=1000)
    framer.feed(bytes.fromhex("00100000 00000004 00000000 0000002a"))
    with pytest.raises(FrameError) as caught:
        framer.next_pdu()
    assert (caught.value.command_id, caught.value.sequence_number) == (4, 42)


def test_pdus_before_a_bad_one_are_handed_out_first() -> None:
    framer = PduFramer()
    framer.feed(codec.encode(pdu.EnquireLink(sequence_number=3)) + b"\x00\x00\x00\x01")
    assert codec.decode(framer.next_pdu() or b"") == pdu.EnquireLink(sequence_number=3)
    with pytest.raises(FrameError):
        framer.next_pdu()


def test_partial_pdu_waits_for_more() -> None:
    wire = codec.encode(pdu.SubmitSm(sequence_number=1, short_message=b"x" * 100))
    framer = PduFramer()
    framer.feed(wire[:50])
    assert framer.next_pdu() is None
    assert framer.buffered == 50
    framer.feed(wire[50:])
    assert framer.next_pdu() == wire


def test_buffer_is_compacted_under_a_long_stream() -> None:
    wire = codec.encode(pdu.EnquireLink(sequence_number=1))
    framer = PduFramer()
    for _ in range(20_000):
        framer.feed(wire)
        assert framer.next_pdu() == wire
    assert framer.buffered == 0
    assert len(framer._partial) == 0


def test_max_pdu_size_must_hold_a_header() -> None:
    with pytest.raises(ValueError):
        PduFramer(max_pdu_size=8)
