"""A simulated operator SMSC: the far end of our connectors in tests, `smsgw dev`
and benchmarks.

It accepts binds (checking credentials, or any), answers submit_sm after a
configurable latency with an id, an error or ESME_RTHROTTLED, sends delivery
receipts after a delay with a configurable mix of outcomes, and pushes MO
messages to receiver and transceiver binds. Every random choice follows one
seed, so a run is repeatable. `drop_connections`, `accepting_binds` and
`refusing` play an operator that fails or throttles, for failover tests.

Built for 10,000 submit_sm a second: no task and no log line per message;
delayed answers share timers (`DelayQueue`), and a deliver_sm waits in a
per-account queue, not in a coroutine, until a bind has a free window slot.

``python -m bench.smsc_sim --port 2776 [--config sim.toml] [flags]`` runs it
alone; it prints one JSON line when listening and one with its counters when
SIGTERM or SIGINT stops it (and on SIGUSR1, while it runs).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
import time
from collections.abc import Callable
from typing import Any, cast

import msgspec

from bench.smsc_sim_config import Delay, SimulatorConfig, parse_command_line
from bench.smsc_sim_outbox import DeliveryCounts, DeliveryOutbox
from bench.smsc_sim_pdus import (
    AcceptedMessage,
    OutcomeDraw,
    accepted_message,
    mo_pdu,
    receipt_pdu,
    receipt_wanted,
)
from bench.smsc_sim_timing import DelayQueue
from engine.loop.collector import settle_collector
from engine.loop.throttle import TokenBucket
from smpp import pdu as p
from smpp.aio import SessionHandler, SmppConnection
from smpp.constants import CommandId as C
from smpp.constants import CommandStatus as S
from smpp.state import Role, SessionState

MO_TICK_SECONDS = 0.01
"""How often MO injection tops up; 100 small batches a second look steady."""
CLOSE_SECONDS = 2.0
"""How long `stop` lets connections flush before cutting them."""
_RECEIVING = frozenset({SessionState.BOUND_RX, SessionState.BOUND_TRX})
_BOUND = frozenset({SessionState.BOUND_TX, SessionState.BOUND_RX, SessionState.BOUND_TRX})
_BINDS = frozenset({C.BIND_TRANSMITTER, C.BIND_RECEIVER, C.BIND_TRANSCEIVER})
_UNSUPPORTED_STATUS: dict[int, S] = {
    C.QUERY_SM: S.ESME_RQUERYFAIL,
    C.CANCEL_SM: S.ESME_RCANCELFAIL,
    C.REPLACE_SM: S.ESME_RREPLACEFAIL,
}
"""Answers to the requests we do not simulate; anything else gets ESME_RINVCMDID."""
_OK = S.ESME_ROK
"""Hoisted: reading an enum member off its class costs more than using it, per message."""


class SimulatorStats(DeliveryCounts):
    """Counters since start; `snapshot` is what the command prints."""

    connections: int = 0
    binds: int = 0
    binds_refused: int = 0
    submits: int = 0
    last_submit_at: float = 0.0
    """Wall-clock time (``time.time()``) of the last submit_sm received: where a
    benchmark's run ends when it measures up to the operator."""
    responses: dict[int, int] = {}
    """submit_sm_resp sent, by command_status."""

    def snapshot(self) -> dict[str, Any]:
        data = msgspec.structs.asdict(self)
        data["responses"] = {_status_name(code): n for code, n in sorted(self.responses.items())}
        return data


def _status_name(code: int) -> str:
    return S(code).name if code in S._value2member_map_ else f"0x{code:08X}"


class SimulatorConnection(SmppConnection):
    """`SmppConnection` that can also be cut with a TCP reset, as a failing
    operator does."""

    _raw_transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._raw_transport = cast(asyncio.Transport, transport)
        super().connection_made(transport)

    def abort(self) -> None:
        """Reset the connection; one accepted a moment ago and not yet set up
        is left alone, it has no bind to lose."""
        if self._raw_transport is not None:
            self._raw_transport.abort()


class SimulatedSmsc(SessionHandler):
    """An operator SMSC on one TCP listener; see the module docstring.

    ``clock`` is the monotonic clock of the per-bind submit rate limit.
    """

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config = config or SimulatorConfig()
        self.stats = SimulatorStats()
        self.accepting_binds = True
        """False answers every bind ESME_RBINDFAIL, as an operator in maintenance."""
        self.refusing: S | None = None
        """Answered to every submit_sm while set: ESME_RTHROTTLED plays an
        operator's throttle spell, for as long as the test keeps it set."""
        self._clock = clock
        self._rng = random.Random(config.seed)
        self._message_number = self._rng.getrandbits(32)
        self._hex_ids = config.message_id_style == "hex"
        self._outcomes = OutcomeDraw(config.receipts.outcomes) if config.receipts.enabled else None
        self._mo_template = mo_pdu(config.mo.source, config.mo.destination, config.mo.text)
        self._max_wait = config.deliver_max_wait_ms / 1000
        self._server: asyncio.Server | None = None
        self._port = 0
        self._connections: set[SimulatorConnection] = set()
        self._buckets: dict[SmppConnection, TokenBucket] = {}
        self._mo_credit = 0.0
        self._mo_turn = 0
        self._handlers: dict[int, Callable[[SmppConnection, Any], None]] = {
            C.SUBMIT_SM: self._submit_received,
            **dict.fromkeys(_BINDS, self._bind_received),
        }
        self._loop: asyncio.AbstractEventLoop
        self._timers: DelayQueue
        self._outbox: DeliveryOutbox
        self._tickers: dict[str, asyncio.TimerHandle]
        self._mo_last: float

    # -- lifecycle --------------------------------------------------------

    async def start(self) -> None:
        """Listen on the configured port, or again on the same one after `stop`,
        as an operator's SMSC comes back after a restart."""
        config = self.config
        loop = self._loop = asyncio.get_running_loop()
        self._timers = DelayQueue(loop)
        self._outbox = DeliveryOutbox(
            loop,
            self._timers,
            self.stats,
            window=config.deliver_window,
            retry=config.deliver_retry_ms / 1000,
            max_wait=self._max_wait,
        )
        port = self._port or config.port
        self._server = await loop.create_server(self._connection_made, config.host, port)
        self._port = int(self._server.sockets[0].getsockname()[1])
        self._mo_last = loop.time()
        self._tickers = {"expire": loop.call_later(self._expire_seconds, self._expire)}
        if config.mo.rate > 0:
            self._tickers["mo"] = loop.call_later(MO_TICK_SECONDS, self._mo_tick)

    async def stop(self) -> None:
        """Stop listening, forget what is scheduled, close every connection
        (cutting those that cannot flush within `CLOSE_SECONDS`)."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        for ticker in self._tickers.values():
            ticker.cancel()
        self._timers.cancel()
        self._outbox.close()
        connections = list(self._connections)
        for connection in connections:
            connection.close()
        closing = [c.closed for c in connections if c.closed is not None]
        if closing:
            _, late = await asyncio.wait(closing, timeout=CLOSE_SECONDS)
            for connection in connections:
                if connection.closed in late:
                    connection.abort()
        await server.wait_closed()

    async def __aenter__(self) -> SimulatedSmsc:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The port listened on (what port 0 picked)."""
        assert self._port, "never started"
        return self._port

    @property
    def bound(self) -> int:
        """Binds open now."""
        return sum(1 for c in self._connections if c.state in _BOUND)

    def drop_connections(self) -> int:
        """Cut every connection with a TCP reset, bound or not; returns how many.

        The ESMEs see an operator link fail: unanswered submits stay unanswered,
        deliver_sm in flight are sent again on the account's next bind.
        """
        connections = list(self._connections)
        for connection in connections:
            connection.abort()
        return len(connections)

    # -- SessionHandler ---------------------------------------------------

    def request_received(self, connection: SmppConnection, request: p.Pdu) -> None:
        handler = self._handlers.get(request.command_id)
        if handler is not None:
            handler(connection, request)
        else:
            status = _UNSUPPORTED_STATUS.get(request.command_id, S.ESME_RINVCMDID)
            connection.respond(p.response_to(request, status))

    def connection_closed(self, connection: SmppConnection, lost: list[int]) -> None:
        self._connections.discard(connection)  # type: ignore[arg-type]
        self._buckets.pop(connection, None)
        self._outbox.remove_receiver(connection)

    # -- binds ------------------------------------------------------------

    def _connection_made(self) -> SimulatorConnection:
        connection = SimulatorConnection(Role.SMSC, self, self.config.session)
        self._connections.add(connection)
        self.stats.connections += 1
        return connection

    def _bind_received(
        self,
        connection: SmppConnection,
        request: p.BindTransmitter | p.BindReceiver | p.BindTransceiver,
    ) -> None:
        credentials = self.config.credentials
        allowed = self.accepting_binds and (
            not credentials or credentials.get(request.system_id) == request.password
        )
        status = S.ESME_ROK if allowed else S.ESME_RBINDFAIL
        connection.respond(p.response_to(request, status, system_id=self.config.system_id))
        if not allowed:
            self.stats.binds_refused += 1
            return
        self.stats.binds += 1
        connection.system_id = request.system_id
        if self.config.max_submits_per_second > 0:
            rate = self.config.max_submits_per_second
            # Bursts of one second's worth: how operators enforce a bind's rate.
            self._buckets[connection] = TokenBucket(rate, max(rate, 1.0), self._clock)
        if connection.state in _RECEIVING:
            self._outbox.add_receiver(connection)

    # -- submit_sm --------------------------------------------------------

    def _submit_received(self, connection: SmppConnection, request: p.SubmitSm) -> None:
        """Answer now or after the latency drawn; the receipt is scheduled after
        the response, so in one slot of the delay queue it also fires after it."""
        stats = self.stats
        stats.submits += 1
        stats.last_submit_at = time.time()
        status = self._submit_status(connection)
        stats.responses[status] = stats.responses.get(status, 0) + 1
        delay = self._delay(self.config.response_latency)
        sequence = request.sequence_number
        message_id = self._next_message_id() if status == _OK else ""
        response = p.SubmitSmResp(
            sequence_number=sequence, command_status=status, message_id=message_id
        )
        if delay > 0:
            self._timers.call_later(delay, self._respond, (connection, response))
        else:
            connection.respond(response)
        if message_id:
            self._plan_receipt(connection.system_id, message_id, request, delay)

    def _submit_status(self, connection: SmppConnection) -> S:
        """A refusal spell first, then the rate limit, as an operator's front
        end does, then the random answers."""
        if self.refusing is not None:
            return self.refusing
        bucket = self._buckets.get(connection)
        if bucket is not None and not bucket.try_take():
            return S.ESME_RTHROTTLED
        config = self.config
        if config.throttle_rate and self._rng.random() < config.throttle_rate:
            return S.ESME_RTHROTTLED
        if config.error_rate and self._rng.random() < config.error_rate:
            return config.error_command_status
        return _OK

    def _next_message_id(self) -> str:
        self._message_number += 1
        return format(self._message_number, "X") if self._hex_ids else str(self._message_number)

    def _delay(self, setting: Delay) -> float:
        """Seconds of a `Delay`: fixed plus uniform jitter."""
        jitter = self._rng.randrange(setting.jitter_ms + 1) if setting.jitter_ms else 0
        return (setting.fixed_ms + jitter) / 1000

    @staticmethod
    def _respond(pending: tuple[SmppConnection, p.Pdu]) -> None:
        connection, response = pending
        if connection.is_open:
            connection.respond(response)

    # -- receipts ---------------------------------------------------------

    def _plan_receipt(
        self, system_id: str, message_id: str, request: p.SubmitSm, response_delay: float
    ) -> None:
        """Draw the outcome now, so the seed fixes it whatever the timing."""
        if self._outcomes is None or not request.registered_delivery:
            return
        state = self._outcomes.draw(self._rng)
        if not receipt_wanted(request.registered_delivery, state):
            return
        message = accepted_message(system_id, message_id, state, request, time.time())
        delay = response_delay + self._delay(self.config.receipts.delay)
        if delay > 0:
            self._timers.call_later(delay, self._receipt_due, message)
        else:
            self._receipt_due(message)

    def _receipt_due(self, message: AcceptedMessage) -> None:
        pdu = receipt_pdu(message, time.time())
        self._outbox.deliver(message.system_id, pdu, is_receipt=True)

    # -- MO ---------------------------------------------------------------

    def inject_mo(
        self,
        text: str | None = None,
        *,
        source: str | None = None,
        destination: str | None = None,
        system_id: str | None = None,
    ) -> bool:
        """Send one MO message (what is not given comes from the config's ``mo``)
        to ``system_id``, queued until it binds, or else to the next bound
        account; False if there is none."""
        if text is None and source is None and destination is None:
            message = self._mo_template
        else:
            mo = self.config.mo
            message = mo_pdu(source or mo.source, destination or mo.destination, text or mo.text)
        if system_id is None:
            system_id = self._next_mo_account()
            if system_id is None:
                return False
        self._outbox.deliver(system_id, message, is_receipt=False)
        return True

    def _next_mo_account(self) -> str | None:
        wanted = self.config.mo.system_ids
        accounts = [a for a in self._outbox.bound_accounts() if not wanted or a in wanted]
        if not accounts:
            return None
        self._mo_turn += 1
        return accounts[self._mo_turn % len(accounts)]

    def _mo_tick(self) -> None:
        """Top up MO credit at ``mo.rate`` and spend it; credit is lost while
        nobody is bound, as a handset's message would go elsewhere."""
        rate = self.config.mo.rate
        now = self._loop.time()
        credit = min(max(rate, 1.0), self._mo_credit + (now - self._mo_last) * rate)
        self._mo_last = now
        while credit >= 1.0 and self.inject_mo():
            credit -= 1.0
        self._mo_credit = credit if credit < 1.0 else 0.0
        self._tickers["mo"] = self._loop.call_later(MO_TICK_SECONDS, self._mo_tick)

    # -- expiry -----------------------------------------------------------

    @property
    def _expire_seconds(self) -> float:
        return min(1.0, max(0.01, self._max_wait))

    def _expire(self) -> None:
        self._outbox.expire()
        self._tickers["expire"] = self._loop.call_later(self._expire_seconds, self._expire)


async def serve(config: SimulatorConfig) -> dict[str, Any]:
    """Run until SIGTERM or SIGINT; returns the final counters. SIGUSR1 prints
    them as they are, for a benchmark that reads them during a run."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    simulator = SimulatedSmsc(config)
    loop.add_signal_handler(signal.SIGUSR1, _print_stats, simulator)
    await simulator.start()
    listening = {"event": "listening", "host": config.host, "port": simulator.port}
    print(json.dumps(listening | {"pid": os.getpid()}), flush=True)
    await stopping.wait()
    await simulator.stop()
    return simulator.stats.snapshot()


def _print_stats(simulator: SimulatedSmsc) -> None:
    print(json.dumps({"event": "stats", "stats": simulator.stats.snapshot()}), flush=True)


def main(argv: list[str] | None = None) -> int:
    try:
        config, event_loop = parse_command_line(argv)
    except (OSError, ValueError) as error:
        print(f"smsc_sim: {error}", file=sys.stderr)
        return 2
    settle_collector()
    if event_loop == "uvloop":
        import uvloop

        stats = uvloop.run(serve(config))
    else:
        stats = asyncio.run(serve(config))
    print(json.dumps({"event": "stopped", "stats": stats}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
