"""OTP conversion per destination prefix: codes sent against codes approved.

A pumped range asks for codes nobody enters, so its ratio of approved codes
collapses while a real one's stays high. The Verify API tells each code it
sent and each one approved (its `VerifyObserver`); any shard may hear either,
so both are counted in the shared minute counters.
"""

from __future__ import annotations

from engine.fraud.counters import SharedCounters


def digits(to: str) -> str:
    """An international number as the router writes it: no '+'."""
    return to.removeprefix("+")


class ConversionTracker:
    """Counts codes sent and approved per account and prefix (a `VerifyObserver`)."""

    def __init__(
        self, counters: SharedCounters, prefix_digits: int, window: float, grace: float
    ) -> None:
        self._counters = counters
        self._digits = prefix_digits
        self.window = window
        """Seconds of codes the ratio is taken over."""
        self.grace = grace
        """Seconds a code may wait for its approval before it counts as sent."""

    def sent(self, account: str, to: str, now: float) -> None:
        """A code was sent to ``to`` (international, '+' optional) at ``now``."""
        self._counters.add(sent_key(account, digits(to)[: self._digits]), now)

    def approved(self, account: str, to: str, now: float) -> None:
        """The code sent to ``to`` was entered right at ``now``."""
        self._counters.add(approved_key(account, digits(to)[: self._digits]), now)

    def figures(self, account: str, prefix: str, now: float) -> tuple[int, int]:
        """Codes sent to ``prefix`` within the window before the grace, and
        codes approved within the window up to ``now``."""
        counters = self._counters
        end = now - self.grace
        sent = counters.count(
            sent_key(account, prefix),
            counters.bucket_of(end - self.window),
            counters.bucket_of(end),
        )
        approved = counters.window(approved_key(account, prefix), self.window, now)
        return sent, approved


def sent_key(account: str, prefix: str) -> str:
    return f"otp-sent:{account}:{prefix}"


def approved_key(account: str, prefix: str) -> str:
    return f"otp-approved:{account}:{prefix}"
