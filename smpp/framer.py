"""Cut a TCP byte stream into whole PDUs by their command_length (§3.2).

The framer is fed whatever chunks the transport delivers and hands back one
PDU's bytes at a time. A command_length under 16 or over the configured
maximum is refused as soon as its four octets arrive, before anything more is
buffered, so a peer cannot make us hold unbounded memory.

PDUs are cut straight from the chunk received (a PDU that is the whole chunk
is handed out without a copy); only a PDU split across chunks is gathered, in
a buffer of its own, until its last octet arrives.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from smpp.constants import HEADER_LENGTH
from smpp.constants import CommandStatus as S
from smpp.errors import FrameError

DEFAULT_MAX_PDU_SIZE = 70_000
"""Large enough for a 64 KiB message_payload with its header and fields."""

_LENGTH = struct.Struct(">I")


class PduFramer:
    """Incremental PDU framer: ``feed(chunk)``, then ``next_pdu()`` until None."""

    __slots__ = ("_chunk", "_error", "_max_pdu_size", "_partial", "_start")

    def __init__(self, max_pdu_size: int = DEFAULT_MAX_PDU_SIZE) -> None:
        if max_pdu_size < HEADER_LENGTH:
            raise ValueError(f"max_pdu_size must be at least {HEADER_LENGTH}")
        self._max_pdu_size = max_pdu_size
        self._chunk = b""
        """Received octets whole PDUs are cut from, from ``_start`` on."""
        self._start = 0
        self._partial = bytearray()
        """The start of a PDU that has not arrived whole yet."""
        self._error: FrameError | None = None

    @property
    def buffered(self) -> int:
        """Octets received and not yet handed out."""
        return len(self._chunk) - self._start + len(self._partial)

    def feed(self, data: bytes) -> None:
        if self._start < len(self._chunk):  # fed again before next_pdu said None
            self._partial += self._chunk[self._start :]
            self._chunk, self._start = b"", 0
        partial = self._partial
        if not partial:
            self._chunk = data if type(data) is bytes else bytes(data)
            self._start = 0
            return
        partial += data
        if len(partial) < 4:
            return
        length = _LENGTH.unpack_from(partial)[0]
        if len(partial) >= length or not HEADER_LENGTH <= length <= self._max_pdu_size:
            self._chunk = bytes(partial)
            partial.clear()

    def next_pdu(self) -> bytes | None:
        """The next whole PDU, or None when more data is needed.

        Raises `FrameError` (status ESME_RINVCMDLEN) when the stream cannot be
        framed; the framer then stays broken, as the stream has lost sync.
        """
        if self._error is not None:
            raise self._error
        chunk, start = self._chunk, self._start
        available = len(chunk) - start
        if available >= 4:
            length = _LENGTH.unpack_from(chunk, start)[0]
            if length < HEADER_LENGTH or length > self._max_pdu_size:
                self._error = self._frame_error(length, available)
                raise self._error
            if available >= length:
                self._start = end = start + length
                return chunk[start:end]
        if available:
            self._partial += chunk[start:]
        self._chunk, self._start = b"", 0
        return None

    def __iter__(self) -> Iterator[bytes]:
        """Every whole PDU buffered so far."""
        while (frame := self.next_pdu()) is not None:
            yield frame

    def _frame_error(self, length: int, available: int) -> FrameError:
        command_id = sequence = 0
        if available >= HEADER_LENGTH:
            header = self._chunk[self._start : self._start + HEADER_LENGTH]
            command_id = int.from_bytes(header[4:8], "big")
            sequence = int.from_bytes(header[12:16], "big")
        return FrameError(
            f"command_length {length} outside {HEADER_LENGTH}..{self._max_pdu_size}",
            S.ESME_RINVCMDLEN,
            command_id=command_id,
            sequence_number=sequence,
        )
