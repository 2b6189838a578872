"""Numbers and what the shard knows of them beyond the routing table: number portability.

`files` (the CSV formats of a full list of ported numbers and of its deltas,
refused whole with their bad rows by line), `portability` (`PortabilityConfig`,
the ``[portability]`` section; `PortabilityFiles`, loading them at start and
swapping a new table in when they change; `install_portability`). The table
itself, and how a decision reads it, is `router.portability`.

May import: engine.loop, router, msgspec, structlog, the standard library.
"""

from engine.numbers.files import PortabilityFileError, read_delta_file, read_ported_file
from engine.numbers.portability import (
    PortabilityConfig,
    PortabilityFiles,
    install_portability,
)

__all__ = [
    "PortabilityConfig",
    "PortabilityFileError",
    "PortabilityFiles",
    "install_portability",
    "read_delta_file",
    "read_ported_file",
]
