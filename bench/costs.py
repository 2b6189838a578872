"""What one message costs the servers behind a shard: Redis commands and
PostgreSQL CPU, read from the servers themselves around a benchmark's load.

docs/scaling.md sizes a cluster from these figures, so they come from the
servers' own counters (Redis ``INFO commandstats``, ``/proc`` of every
PostgreSQL process), not from what the gateway believes it sent. Both servers
may be shared with other work: the figures are what the run added, and other
clients of the same servers during the run would count too (the bench says
so by printing the load average).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

_SCRIPT_COMMANDS = frozenset({"evalsha", "eval", "evalsha_ro", "eval_ro", "fcall"})


async def redis_command_counts(redis: Any) -> Counter[str]:
    """Calls of every command so far (``INFO commandstats``), summed over the
    primaries of a cluster. Redis counts the commands a script runs as well as
    the script call itself, so this is the work done, not the round trips."""
    if hasattr(redis, "get_primaries"):
        answers = await redis.info("commandstats", target_nodes=redis.PRIMARIES)
        nodes = list(answers.values())
    else:
        nodes = [await redis.info("commandstats")]
    counts: Counter[str] = Counter()
    for node in nodes:
        for name, stats in node.items():
            if name.startswith("cmdstat_"):
                counts[name.removeprefix("cmdstat_")] += int(stats["calls"])
    return counts


def commands_per_message(
    before: Counter[str], after: Counter[str], messages: int
) -> dict[str, Any]:
    """Redis commands the run added, per message: in all (those run inside
    scripts included), script calls (about the round trips, as everything
    else on the hot path runs inside scripts), and the commands that make up
    most of it; the bench's own INFO calls are left out."""
    added = after - before
    added.pop("info", None)
    per = max(messages, 1)
    return {
        "total": round(sum(added.values()) / per, 2),
        "scripts": round(sum(n for c, n in added.items() if c in _SCRIPT_COMMANDS) / per, 2),
        "top": {command: round(n / per, 3) for command, n in added.most_common(8)},
    }


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far (proc(5), fields 14 and 15); OSError
    for one that is gone."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """utime + stime of every PostgreSQL process of this machine (backends,
    WAL writer, checkpointer): what the database spent, whoever asked."""
    total = 0.0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() in ("postgres", "postmaster"):
                total += process_cpu_seconds(int(comm.parent.name))
        except OSError:  # a process that ended since it was listed
            continue
    return total
