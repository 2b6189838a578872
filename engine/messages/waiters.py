"""HTTP callers waiting for a message to reach a milestone (the OTP wait).

A caller registers before the message is committed, so no milestone can be
missed; the pipeline reports milestones only when someone waits (one dict
lookup otherwise).
"""

from __future__ import annotations

import asyncio

import msgspec

from smpp.receipt import MessageState


class Reached(msgspec.Struct, frozen=True):
    """Where the message got: ENROUTE once the operator accepted it, else its final state."""

    state: MessageState
    error: str = "000"
    final: bool = False


class MessageWaiters:
    def __init__(self) -> None:
        self._waiting: dict[str, list[tuple[bool, asyncio.Future[Reached]]]] = {}

    def __bool__(self) -> bool:
        return bool(self._waiting)

    def wait(self, message_id: str, *, final: bool) -> asyncio.Future[Reached]:
        """A future for the operator's acceptance (or, with ``final``, the final
        state); a failure resolves either. Call `forget` when giving up."""
        future: asyncio.Future[Reached] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(message_id, []).append((final, future))
        return future

    def forget(self, message_id: str, future: asyncio.Future[Reached]) -> None:
        waiting = self._waiting.get(message_id)
        if waiting is None:
            return
        waiting[:] = [entry for entry in waiting if entry[1] is not future]
        if not waiting:
            del self._waiting[message_id]

    def submitted(self, message_id: str) -> None:
        waiting = self._waiting.get(message_id)
        if waiting is None:
            return
        reached = Reached(MessageState.ENROUTE)
        still = []
        for final, future in waiting:
            if final:
                still.append((final, future))
            elif not future.done():
                future.set_result(reached)
        if still:
            self._waiting[message_id] = still
        else:
            del self._waiting[message_id]

    def settled(self, message_id: str, state: MessageState, error: str) -> None:
        reached = Reached(state, error, final=True)
        for _, future in self._waiting.pop(message_id, ()):
            if not future.done():
                future.set_result(reached)
