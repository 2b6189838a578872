"""Who hears about codes sent and approved: the fraud guard measures conversion with it.

A number range that receives many codes and approves few is the mark of SMS
pumping (codes asked for numbers whose operator pays the asker per SMS).
The observer is called inline and must not block: it counts, or schedules
its own work. Its failures are logged and never fail a verification.
"""

from __future__ import annotations

from typing import Protocol


class VerifyObserver(Protocol):
    def sent(self, account: str, to: str, now: float) -> None:
        """A code's SMS was accepted for ``to`` (E.164 digits) at Unix time ``now``."""
        ...

    def approved(self, account: str, to: str, now: float) -> None:
        """A code sent to ``to`` was approved (once per verification)."""
        ...


class NoObserver:
    """The default: nobody listens."""

    def sent(self, account: str, to: str, now: float) -> None:
        pass

    def approved(self, account: str, to: str, now: float) -> None:
        pass
