"""What an operator's refusal of a submit_sm means for the message, per connector.

SMPP 3.4 §5.1.3 lists the command_status codes but not which of them pass
with time, and operators differ: one answers ESME_RMSGQFUL when we go too
fast, another ESME_RSUBMITFAIL when its own core is congested. So each
connector maps every refusal (in a submit_sm_resp or a generic_nack) to one
of three kinds, from defaults that its configuration may override status by
status:

- ``THROTTLING``: we go too fast. The connector slows down as a whole
  (`engine.operators.pacing`) and the message goes back to the front of its
  queue without spending an attempt, for as long as its validity allows.
  Defaults: ESME_RTHROTTLED (0x58, the spec's "throttling error") and
  ESME_RMSGQFUL (0x14, "message queue full": the SMSC's queue for us is full,
  which sending slower relieves; vumi treats both as throttling).
- ``TEMPORARY``: a transient fault on the operator's side. The message is
  retried after a capped exponential backoff, at most ``max_submit_attempts``
  times and never past its validity, then fails over to its next route.
  Defaults: the rest of `smpp.constants.TEMPORARY_STATUSES`, ESME_RSYSERR
  (0x08) and ESME_RX_T_APPN (0x64), the two Kannel retries besides the
  throttling pair (Jasmin's default retrial list also retries ESME_RSYSERR).
  No answer within ``response_timeout`` is temporary too, and so is a
  generic_nack saying ESME_ROK; both are decided before the map is asked.
- ``PERMANENT``: the operator will never take this message; it fails at once.
  Everything else, including ESME_RSUBMITFAIL (0x45): it is the spec's
  catch-all "submit_sm failed", which SMSCs also answer for barred senders,
  refused content and unreachable destinations, so retrying it by default
  would spend the operator's patience and our throughput on messages that
  never pass (Kannel and Jasmin also treat it as final). An operator that
  means "congested, try again" by it lists it in ``temporary_errors``. An
  unknown code (vendor-specific 0x400-0x4FF, or ESME_RUNKNOWNERR) is
  permanent too: an answer we cannot read must not loop.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from enum import Enum

from smpp.constants import TEMPORARY_STATUSES
from smpp.constants import CommandStatus as S

StatusSpec = int | str
"""A command_status as configured: an integer (TOML takes 0x58) or an ESME_* name."""

_MAX_STATUS = 0xFFFFFFFF


class ErrorKind(Enum):
    """What a refusal means for the message that got it."""

    TEMPORARY = "temporary"
    THROTTLING = "throttling"
    PERMANENT = "permanent"


DEFAULT_THROTTLING: frozenset[int] = frozenset({S.ESME_RTHROTTLED, S.ESME_RMSGQFUL})
DEFAULT_TEMPORARY: frozenset[int] = TEMPORARY_STATUSES - DEFAULT_THROTTLING

_OPTIONS = {
    ErrorKind.TEMPORARY: "temporary_errors",
    ErrorKind.THROTTLING: "throttling_errors",
    ErrorKind.PERMANENT: "permanent_errors",
}
"""The configuration option that lists each kind, for error messages."""


def status_name(status: int) -> str:
    """``ESME_RTHROTTLED (0x58)`` for a known code, ``0x00000401`` otherwise."""
    if status in S._value2member_map_:
        return f"{S(status).name} (0x{status:02X})"
    return f"0x{status:08X}"


def parse_status(spec: StatusSpec) -> int:
    """The command_status a configuration entry names; ValueError if none.

    ESME_ROK is refused: it is not an error, and a map that turned OK into a
    failure would fail every message.
    """
    if isinstance(spec, bool) or not isinstance(spec, int | str):
        raise ValueError(f"{spec!r} is neither an ESME_* name nor an integer")
    if isinstance(spec, str):
        member = S.__members__.get(spec)
        if member is None:
            close = difflib.get_close_matches(spec.upper(), S.__members__, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ValueError(f"{spec!r} is not an SMPP command_status name{hint}")
        status = int(member)
    else:
        status = spec
        if not 0 <= status <= _MAX_STATUS:
            raise ValueError(f"{spec!r} is not a command_status (0 to 0xFFFFFFFF)")
    if status == S.ESME_ROK:
        raise ValueError(f"{spec!r} is ESME_ROK, which is not an error")
    return status


class ErrorMap:
    """The kind of every refusal on one connector: the defaults above, with the
    statuses a configuration lists moved to the kind of the list.

    Raises ValueError, naming the option at fault, for an entry that names no
    command_status or a status listed under two kinds.
    """

    __slots__ = ("_kinds",)

    def __init__(
        self,
        *,
        temporary: Iterable[StatusSpec] = (),
        throttling: Iterable[StatusSpec] = (),
        permanent: Iterable[StatusSpec] = (),
    ) -> None:
        kinds: dict[int, ErrorKind] = dict.fromkeys(DEFAULT_TEMPORARY, ErrorKind.TEMPORARY)
        kinds.update(dict.fromkeys(DEFAULT_THROTTLING, ErrorKind.THROTTLING))
        listed: dict[int, ErrorKind] = {}
        lists = {
            ErrorKind.TEMPORARY: temporary,
            ErrorKind.THROTTLING: throttling,
            ErrorKind.PERMANENT: permanent,
        }
        for kind, specs in lists.items():
            for index, spec in enumerate(specs):
                place = f"{_OPTIONS[kind]}[{index}]"
                try:
                    status = parse_status(spec)
                except ValueError as error:
                    raise ValueError(f"{place}: {error}") from None
                other = listed.setdefault(status, kind)
                if other is not kind:
                    raise ValueError(
                        f"{place}: {status_name(status)} is also in {_OPTIONS[other]};"
                        " a status has one kind"
                    )
                kinds[status] = kind
        self._kinds = kinds

    def classify(self, status: int) -> ErrorKind:
        """The kind of a non-zero command_status; unknown codes are permanent."""
        return self._kinds.get(status, ErrorKind.PERMANENT)
