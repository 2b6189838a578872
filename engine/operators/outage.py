"""What an operator bind says about its time down, in a few log lines.

An SMSC that is down for an hour must not write a line per reconnect: the
first failure is told, then one line each time the count of failures in a
row doubles (the reconnect backoff doubles too, so that is at most one line
per backoff step), and the recovery once, with how many failures and for how
long. Sans-IO: the bind asks, and logs what it is told.
"""

from __future__ import annotations

from collections.abc import Callable

from smpp.aio import CommandFailed
from smpp.constants import status_name


def connect_failure(error: BaseException) -> dict[str, str]:
    """The reason of a failed connect or bind, as log fields."""
    if isinstance(error, CommandFailed):
        return {"reason": "bind refused", "status": status_name(error.status)}
    if isinstance(error, TimeoutError):
        return {"reason": "connect timeout"}
    return {"reason": "connect error", "error": str(error) or type(error).__name__}


class Outage:
    """One bind's time without a session: since it dropped, or since its
    first connect failed, until it is bound again."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._since: float | None = None
        self.failures = 0
        """Connects that failed in a row since the bind was last up."""
        self.cause = ""
        """What began the outage: the drop's reason, or the first failure's."""

    def dropped(self, reason: str) -> None:
        """The session ended: down from now."""
        self._since = self._clock()
        self.failures = 0
        self.cause = reason

    def failed(self, reason: str) -> bool:
        """One more failed connect; True when it is worth a line (1st, 2nd, 4th, 8th, ...)."""
        if self._since is None:
            self._since = self._clock()
            self.cause = reason
        self.failures += 1
        return self.failures & (self.failures - 1) == 0

    @property
    def down_for(self) -> float:
        return 0.0 if self._since is None else self._clock() - self._since

    def recovered(self) -> tuple[int, float, str] | None:
        """Bound again: (failures, seconds down, cause), or None if it was not down."""
        if self._since is None:
            return None
        ended = (self.failures, self.down_for, self.cause)
        self._since = None
        self.failures = 0
        return ended
