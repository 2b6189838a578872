"""Keeping a shard's routing on the ported numbers its files list, reloaded when they change.

The files (``engine.numbers.files``) are a full list and a directory of
deltas, applied on top of it in name order. The shard loads them at start; then
every ``check_interval`` it looks at their size, modification time and inode,
and when one changed it builds the new table in a thread, off to the side, and
swaps it in with one assignment (``install_portability``): a decision in
flight keeps the table it started with. New deltas alone are applied to the
table in use; a changed full file, or a delta changed, removed or sorting
before one applied, rebuilds from the full file. A refused file (a bad row, a
file not there) is logged once and the table in use stays.

Write a file under a name starting with a dot and rename it into place: a
rename is atomic, and names starting with a dot are never read as deltas.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import msgspec
import structlog

from engine.loop.cancelling import cancelled
from engine.numbers.files import read_delta_file, read_ported_file
from router import PortedNumbers, RoutingTable

log = structlog.get_logger("smsgw.portability")

Fingerprint = tuple[int, int, int]
"""A file's inode, size and modification time (ns): when one changes, the file did."""
FileState = tuple[Fingerprint, tuple[tuple[str, Fingerprint], ...]]
"""The full file's fingerprint and each delta's name and fingerprint, in name order."""


class PortabilityConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[portability]``: where this shard reads the numbers ported to another network."""

    file: str = ""
    """The full list, CSV ``number,operator`` (docs/portability.md); empty: no portability."""
    deltas: str = ""
    """A directory of delta files, applied on top of ``file`` in name order; empty: none."""
    check_interval: float = 60.0
    """Seconds between looks at the files for a change; 0: read at start only."""

    def __post_init__(self) -> None:
        if self.check_interval < 0:
            raise ValueError("check_interval must be >= 0")
        if self.deltas and not self.file:
            raise ValueError("deltas apply on top of a file: set file too")


class _Pipeline(Protocol):
    table: RoutingTable


class RoutedShard(Protocol):
    """What ``install_portability`` needs of a gateway: the pipeline holding its table."""

    @property
    def pipeline(self) -> _Pipeline: ...


def install_portability(gateway: RoutedShard, ported: PortedNumbers | None) -> None:
    """Route ``gateway``'s MT messages by ``ported`` from the next decision on (None: by prefix).

    The routing table is swapped whole for one sharing all else with it.
    """
    pipeline = gateway.pipeline
    pipeline.table = pipeline.table.with_ported(ported)


@dataclass(frozen=True, slots=True)
class LoadedFiles:
    """A table and the state of the files it was read from."""

    files: FileState
    ported: PortedNumbers


def file_state(config: PortabilityConfig) -> FileState:
    """The files as they are now; OSError when the full file or the directory is missing."""
    deltas: list[tuple[str, Fingerprint]] = []
    if config.deltas:
        with os.scandir(config.deltas) as entries:
            for entry in entries:
                if entry.is_file() and not entry.name.startswith("."):
                    deltas.append((entry.name, _fingerprint(entry.stat())))
    deltas.sort()
    return _fingerprint(os.stat(config.file)), tuple(deltas)


def load(config: PortabilityConfig, files: FileState, current: LoadedFiles | None) -> LoadedFiles:
    """The table ``files`` hold: ``current`` with the deltas new since it, else read whole.

    Blocking; raises PortabilityFileError or OSError.
    """
    deltas = files[1]
    if current is not None and _extends(current.files, files):
        ported, new = current.ported, deltas[len(current.files[1]) :]
    else:
        ported, new = read_ported_file(config.file), deltas
    changes: dict[str, str] = {}
    for name, _ in new:
        changes.update(read_delta_file(Path(config.deltas, name)))
    if changes:
        ported = ported.updated(changes)
    return LoadedFiles(files, ported)


class PortabilityFiles:
    """The files of ``config``, loaded at ``start`` and watched until ``stop``.

    ``install`` takes each new table (``install_portability`` on the gateway).
    """

    def __init__(self, config: PortabilityConfig, install: Callable[[PortedNumbers], None]) -> None:
        self.config = config
        self._install = install
        self._loaded: LoadedFiles | None = None
        self._seen: FileState | None = None
        self._checking = asyncio.Lock()
        self._watch: asyncio.Task[None] | None = None

    @property
    def ported(self) -> PortedNumbers | None:
        """The table installed last, if any."""
        return self._loaded.ported if self._loaded is not None else None

    async def start(self) -> None:
        """Load and install the files, then watch them; raises what refused them."""
        files = await asyncio.to_thread(file_state, self.config)
        await self._load(files)
        if self.config.check_interval > 0:
            self._watch = asyncio.get_running_loop().create_task(self._watching())

    async def check(self) -> bool:
        """Look at the files once; load and install what changed. True when a table went in.

        A refusal is logged, once for the same files, and the table in use stays.
        """
        async with self._checking:
            try:
                files = await asyncio.to_thread(file_state, self.config)
                if files == self._seen:
                    return False
                self._seen = files
                await self._load(files)
            except (OSError, ValueError) as error:  # PortabilityFileError is a ValueError
                log.error("portability files refused; the table in use stays", error=str(error))
                return False
            return True

    async def stop(self) -> None:
        if self._watch is not None:
            await cancelled(self._watch)

    async def _load(self, files: FileState) -> None:
        began = time.perf_counter()
        loaded = await asyncio.to_thread(load, self.config, files, self._loaded)
        self._install(loaded.ported)
        self._loaded = loaded
        self._seen = files
        log.info(
            "portability loaded",
            file=self.config.file,
            deltas=len(files[1]),
            numbers=len(loaded.ported),
            megabytes=round(loaded.ported.nbytes / 1e6, 1),
            seconds=round(time.perf_counter() - began, 2),
        )

    async def _watching(self) -> None:
        while True:
            await asyncio.sleep(self.config.check_interval)
            try:
                await self.check()
            except Exception:
                log.exception("looking at the portability files failed")


def _fingerprint(stat: os.stat_result) -> Fingerprint:
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _extends(before: FileState, now: FileState) -> bool:
    """Whether ``now`` is ``before`` with deltas added after those it had."""
    applied = before[1]
    return before[0] == now[0] and now[1][: len(applied)] == applied
