"""Errors raised by the SMPP core.

Every protocol error carries the command_status a session answers with, so the
adapter never guesses the wire code (wsproto's ``ParseFailed(code=...)`` habit),
and says who broke the protocol: the peer (`RemoteProtocolError`) or our own
code (`LocalProtocolError`), as h11 does.
"""

from __future__ import annotations

from smpp.constants import CommandStatus


class SmppError(Exception):
    """Base of every error the SMPP core raises on purpose."""


class RemoteProtocolError(SmppError):
    """The peer sent bytes that are not a valid PDU.

    ``status`` is the command_status to answer with; ``command_id`` and
    ``sequence_number`` are those of the offending PDU when its header could be
    read (0 otherwise), so the session can answer with the matching response or,
    for an unknown command or a bad header, with generic_nack (§4.3).
    """

    def __init__(
        self,
        message: str,
        status: CommandStatus,
        *,
        command_id: int = 0,
        sequence_number: int = 0,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.command_id = command_id
        self.sequence_number = sequence_number

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild_remote,
            (type(self), str(self), self.status, self.command_id, self.sequence_number),
        )


def _rebuild_remote(
    cls: type[RemoteProtocolError], message: str, status: int, command_id: int, sequence: int
) -> RemoteProtocolError:
    return cls(message, CommandStatus(status), command_id=command_id, sequence_number=sequence)


class FrameError(RemoteProtocolError):
    """The command_length cannot be trusted, so the byte stream has lost its
    framing: answer generic_nack and close the session."""


class LocalProtocolError(SmppError):
    """We were asked to encode a PDU that breaks the spec (a field too long, an
    integer out of range, a value of the wrong type)."""

    def __init__(self, message: str, status: CommandStatus = CommandStatus.ESME_RSYSERR) -> None:
        super().__init__(message)
        self.status = status
