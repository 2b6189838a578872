"""Typed settings of the ledger and of its persister (embedded in the engine's TOML config)."""

from __future__ import annotations

import re

import msgspec

_NAMESPACE = re.compile(r"[A-Za-z0-9_.-]{1,32}")
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_MAX_BUCKETS = 16_384  # one bucket per Redis Cluster slot at most


def _positive(errors: list[str], name: str, value: int | float) -> None:
    if value <= 0:
        errors.append(f"{name}: must be > 0, got {value!r}")


class LedgerConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where ledger keys live and how callers are batched.

    `buckets` fixes which Redis Cluster slot each account lives in, so it must
    never change for a running deployment: the ledger records it in Redis and
    refuses to start with another value.
    """

    namespace: str = "smsgw"
    buckets: int = 64
    idempotency_ttl: int = 86_400
    """Seconds an idempotency key remembers the message it accepted."""
    settled_hold_ttl: int = 86_400
    """Seconds (at least; at most 1.5 times) a settled hold's outcome is remembered,
    about 80 bytes a message: a repeated settle says how it ended and changes
    nothing, a late void keeps it, a replayed accept of its id is a duplicate.
    Those repeats come within seconds (a retry on a fresh connection, a stalled
    Redis resuming), so an hour is safe where memory is short."""
    max_batch: int = 512
    """Messages per script call at most."""
    max_in_flight: int = 8
    """Script calls in flight per operation at once; more callers wait and batch up."""

    def __post_init__(self) -> None:
        errors: list[str] = []
        if not _NAMESPACE.fullmatch(self.namespace):
            errors.append(f"namespace: 1-32 of [A-Za-z0-9_.-], got {self.namespace!r}")
        if not 1 <= self.buckets <= _MAX_BUCKETS:
            errors.append(f"buckets: must be in 1..{_MAX_BUCKETS}, got {self.buckets!r}")
        for name in ("idempotency_ttl", "settled_hold_ttl", "max_batch", "max_in_flight"):
            _positive(errors, name, getattr(self, name))
        if errors:
            raise ValueError("; ".join(errors))


class PersisterConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How the persister reads the bucket event streams.

    `consumer` must be stable across restarts of the same persister: on start it
    re-reads its own pending entries (delivered, never acknowledged) first.
    """

    group: str = "persister"
    consumer: str = "persister-1"
    batch_size: int = 200
    """Entries read per stream per round. An entry holds the money events of
    one ledger call or the message events of one write (tens to hundreds), so
    this bounds a round's events only loosely: a shard's own persister decodes
    and folds a round on the shard's event loop, and at 2,000 its rounds held
    OTPs up by 100 ms and more behind a flood (bench.fairness)."""
    in_process_batch_size: int = 20
    """`batch_size` of the persister inside a shard (`persister_in_process`),
    whose rounds are decoded and folded on the shard's event loop between its
    customers' PDUs: small rounds keep each pause short. bench.fairness, OTP
    p99 behind a flood: 38.8-40.6 ms at 20 against 56.6-66.6 ms at 200 (three
    interleaved pairs); `smsgw ledger persist` reads `batch_size`."""
    block_ms: int = 100
    """How long a worker rests after a round that found nothing new. Workers
    poll their bucket streams one by one: a blocking read of several streams
    would cross Redis Cluster slots."""
    linger_ms: int = 250
    """How long a worker rests after a round that found new events but filled
    no stream's batch, so the next round holds more of each message's changes:
    a message's accept, submit and receipt folded into one row cost PostgreSQL
    one write instead of three (bench.e2e: about a third less of its CPU per
    message at 250 ms). PostgreSQL's copy lags Redis by as much more; 0 reads
    again at once. A worker with a full batch behind it never rests, and the
    persister inside a shard (`persister_in_process`) never lingers: its
    rounds run on the shard's event loop, where a bigger round would hold an
    OTP up longer."""
    retry_base: float = 0.05
    retry_cap: float = 5.0
    workers: int = 2
    """Persisters in parallel, each with its own PostgreSQL connection and its
    own share of the buckets (bucket modulo workers)."""
    retention_days: int = 0
    """Days of message history kept in PostgreSQL; older days are dropped whole
    (partitions). 0 keeps every day. Ledger entries are always kept."""
    partitions_ahead_days: int = 2
    """Days of `messages` partitions made ahead of today."""

    def __post_init__(self) -> None:
        errors: list[str] = []
        for name in ("group", "consumer"):
            if not _NAME.fullmatch(getattr(self, name)):
                errors.append(f"{name}: 1-64 of [A-Za-z0-9_.:-], got {getattr(self, name)!r}")
        for name in (
            "batch_size",
            "in_process_batch_size",
            "block_ms",
            "retry_base",
            "retry_cap",
            "workers",
        ):
            _positive(errors, name, getattr(self, name))
        for name in ("retention_days", "partitions_ahead_days", "linger_ms"):
            if type(getattr(self, name)) is not int or getattr(self, name) < 0:
                errors.append(f"{name}: a non-negative integer, got {getattr(self, name)!r}")
        if errors:
            raise ValueError("; ".join(errors))
