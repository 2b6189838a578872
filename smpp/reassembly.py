"""Putting received parts of a concatenated message back together.

Parts are numbered either by a concatenation element in the user data header
(3GPP TS 23.040 §9.2.3.24.1, 8-bit reference; §9.2.3.24.8, 16-bit) or by the
SAR TLVs (SMPP 3.4 §5.3.2.22-24); both give a `PartNumbers`. The
`Reassembler` is sans-IO: it has no clock and no timer, every call takes the
caller's monotonic ``now``, and it holds a bounded number of incomplete
messages, so a peer that never sends the last part cannot grow it.

Payloads are joined as octets, so feed each part's text units, not packed
septets: unpack a packed GSM part first, with `gsm.fill_bits_after` the UDH.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

import msgspec

from smpp.errors import SmppError
from smpp.split import MAX_PARTS, PartNumbers

K = TypeVar("K", bound=Hashable)

IEI_CONCATENATION_8BIT_REF = 0x00
IEI_CONCATENATION_16BIT_REF = 0x08


class UdhError(SmppError, ValueError):
    """A user data header whose lengths run past its end."""


class ReassemblyError(SmppError, ValueError):
    """Part numbers that cannot belong to any message."""


class InformationElement(msgspec.Struct, frozen=True):
    """One information element of a UDH: its identifier and its data."""

    iei: int
    data: bytes


def parse_udh(user_data: bytes) -> tuple[tuple[InformationElement, ...], bytes]:
    """Split user data whose esm_class has UDHI (0x40) into the UDH's
    information elements and the payload after it (3GPP TS 23.040
    §9.2.3.24: UDHL, then IEI, IEDL, data, ...)."""
    if not user_data:
        raise UdhError("UDHI is set but the user data is empty")
    header_end = 1 + user_data[0]
    if header_end > len(user_data):
        raise UdhError(f"UDHL {user_data[0]} exceeds the {len(user_data) - 1} octets after it")
    elements = []
    position = 1
    while position < header_end:
        if position + 2 > header_end:
            raise UdhError(f"information element at octet {position} is cut by the UDHL")
        iei, length = user_data[position], user_data[position + 1]
        data_end = position + 2 + length
        if data_end > header_end:
            raise UdhError(f"IEI 0x{iei:02X} at octet {position} runs past the UDHL")
        elements.append(InformationElement(iei, user_data[position + 2 : data_end]))
        position = data_end
    return tuple(elements), user_data[header_end:]


def concatenation_numbers(elements: Iterable[InformationElement]) -> PartNumbers | None:
    """The part numbers of a concatenation element, or None if there is none.

    §9.2.3.24.1: an element whose total is 0, or whose sequence is 0 or above
    the total, is ignored; where the element is repeated the last one counts.
    Elements of any other identifier are left to the caller.
    """
    found = None
    for element in elements:
        data = element.data
        if element.iei == IEI_CONCATENATION_8BIT_REF and len(data) == 3:
            reference, total, sequence = data
        elif element.iei == IEI_CONCATENATION_16BIT_REF and len(data) == 4:
            reference, total, sequence = data[0] << 8 | data[1], data[2], data[3]
        else:
            continue
        if 1 <= sequence <= total:
            found = PartNumbers(reference, total, sequence)
    return found


class Reassembled(msgspec.Struct, Generic[K], frozen=True):
    """A whole message: its parts' payloads joined in sequence order."""

    key: K
    reference: int
    total: int
    payload: bytes


class Incomplete(msgspec.Struct, Generic[K], frozen=True):
    """A message given up on (evicted or timed out), with the parts that came,
    as (sequence, payload) in sequence order, for the caller to deliver as
    they are or drop."""

    key: K
    reference: int
    total: int
    parts: tuple[tuple[int, bytes], ...]
    first_seen: float


class AddResult(msgspec.Struct, Generic[K], frozen=True):
    """What one part caused: the message it completed, and the incomplete
    message evicted to make room for it."""

    message: Reassembled[K] | None = None
    evicted: Incomplete[K] | None = None


class _Pending:
    __slots__ = ("first_seen", "parts")

    def __init__(self, first_seen: float) -> None:
        self.first_seen = first_seen
        self.parts: dict[int, bytes] = {}


def _check_numbers(numbers: PartNumbers) -> None:
    if not 0 <= numbers.reference <= 0xFFFF:
        raise ReassemblyError(f"reference {numbers.reference} is outside 0..65535")
    if not 1 <= numbers.total <= MAX_PARTS:
        raise ReassemblyError(f"total {numbers.total} is outside 1..{MAX_PARTS}")
    if not 1 <= numbers.sequence <= numbers.total:
        raise ReassemblyError(f"sequence {numbers.sequence} is outside 1..{numbers.total}")


class Reassembler(Generic[K]):
    """Collects parts until a message is whole.

    A message is identified by the caller's ``key`` (say source, destination
    and account) with the reference and the total, as a handset does: a part
    with the same reference and another total belongs to another message.
    Parts may come in any order; a repeated sequence number keeps the first
    payload. At most ``max_pending`` messages wait, the oldest is evicted
    for a new one, and `expire` gives up those older than ``timeout``
    seconds since their first part.
    """

    def __init__(self, *, max_pending: int = 10_000, timeout: float = 300.0) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, not {max_pending}")
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0, not {timeout}")
        self.max_pending = max_pending
        self.timeout = timeout
        self._pending: OrderedDict[tuple[K, int, int], _Pending] = OrderedDict()

    def __len__(self) -> int:
        """Incomplete messages held."""
        return len(self._pending)

    def add(self, key: K, numbers: PartNumbers, payload: bytes, now: float) -> AddResult[K]:
        """Take one part; raises `ReassemblyError` for impossible numbers."""
        _check_numbers(numbers)
        if numbers.total == 1:
            return AddResult(message=Reassembled(key, numbers.reference, 1, payload))
        message_id = (key, numbers.reference, numbers.total)
        evicted = None
        pending = self._pending.get(message_id)
        if pending is None:
            if len(self._pending) >= self.max_pending:
                evicted = self._give_up(*self._pending.popitem(last=False))
            pending = self._pending[message_id] = _Pending(now)
        pending.parts.setdefault(numbers.sequence, payload)
        if len(pending.parts) < numbers.total:
            return AddResult(evicted=evicted)
        del self._pending[message_id]
        whole = b"".join(pending.parts[sequence] for sequence in range(1, numbers.total + 1))
        return AddResult(Reassembled(key, numbers.reference, numbers.total, whole), evicted)

    def expire(self, now: float) -> list[Incomplete[K]]:
        """Give up the messages whose first part came ``timeout`` or more
        seconds before ``now``, oldest first."""
        expired = []
        deadline = now - self.timeout
        while self._pending:
            message_id, pending = next(iter(self._pending.items()))
            if pending.first_seen > deadline:
                break
            del self._pending[message_id]
            expired.append(self._give_up(message_id, pending))
        return expired

    @staticmethod
    def _give_up(message_id: tuple[K, int, int], pending: _Pending) -> Incomplete[K]:
        key, reference, total = message_id
        parts = tuple(sorted(pending.parts.items()))
        return Incomplete(key, reference, total, parts, pending.first_seen)
