"""The blocks and allowances one shard holds, looked up per message.

Both are by account, then by prefix (a whole number for the per-number
limit): a destination is blocked when one of its leading digit strings is.
Most accounts have none, so most messages cost one dict lookup here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from engine.fraud.store import Allowance, Block, FraudRecords
from engine.messages.intake import Refused
from smpp.constants import CommandStatus as S

BLOCKED_STATUS = S.ESME_RSUBMITFAIL
"""What an SMPP customer gets for a blocked destination: a permanent refusal
(ESME_RTHROTTLED would invite the retries a block is there to stop)."""


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def refusal(block: Block) -> Refused:
    """The answer to every message a block stops: its reason and its term."""
    term = f"until {iso(block.until)}" if block.until else "until an admin lifts it"
    reason = f"{block.reason}; blocked since {iso(block.since)} {term}"
    return Refused(BLOCKED_STATUS, reason, block.code)


class BlockBook:
    """This shard's copy of the store's blocks and allowances, plus its own
    blocks not stored yet; replaced whole at each reload."""

    def __init__(self) -> None:
        self._blocks: dict[str, dict[str, tuple[Block, Refused]]] = {}
        self._allowed: dict[str, dict[str, float]] = {}
        """Account -> prefix -> Unix time the allowance ends."""
        self.allowances: list[Allowance] = []
        self._listed: tuple[Block, ...] = ()
        """Every block held, remade at each change: read by a scrape's thread."""

    def load(self, records: FraudRecords, unsaved: list[Block]) -> None:
        """Holds what the store holds, and this shard's blocks not stored yet."""
        self._blocks = {}
        for block in [*records.blocks, *unsaved]:
            self._blocks.setdefault(block.account, {})[block.prefix] = (block, refusal(block))
        self._list()
        self._allowed = {}
        for allowance in records.allowances:
            self._allowed.setdefault(allowance.account, {})[allowance.prefix] = allowance.until
        self.allowances = records.allowances

    def add(self, block: Block) -> Refused:
        entry = (block, refusal(block))
        self._blocks.setdefault(block.account, {})[block.prefix] = entry
        self._list()
        return entry[1]

    def remove(self, account: str, prefix: str) -> None:
        held = self._blocks.get(account)
        if held is not None and held.pop(prefix, None) is not None:
            self._list()

    def _list(self) -> None:
        self._listed = tuple(
            sorted(
                (block for held in self._blocks.values() for block, _ in held.values()),
                key=lambda block: (block.account, block.prefix),
            )
        )

    def allow(self, allowance: Allowance) -> None:
        self._allowed.setdefault(allowance.account, {})[allowance.prefix] = allowance.until
        self.allowances = [
            *(
                a
                for a in self.allowances
                if (a.account, a.prefix) != (allowance.account, allowance.prefix)
            ),
            allowance,
        ]

    def blocked(self, account: str, destination: str, now: float) -> Refused | None:
        """The refusal of the block whose prefix starts ``destination`` (the longest)."""
        held = self._blocks.get(account)
        if not held:
            return None
        for end in range(len(destination), 0, -1):
            entry = held.get(destination[:end])
            if entry is not None and not entry[0].over(now):
                return entry[1]
        return None

    def allowed(self, account: str, destination: str, now: float) -> bool:
        """Whether an admin's allowance covers ``destination`` at ``now``."""
        held = self._allowed.get(account)
        if not held:
            return False
        return any(destination.startswith(p) and now < until for p, until in held.items())

    def blocks(self, now: float) -> list[Block]:
        """The blocks in force, by account then prefix."""
        return [block for block in self._listed if not block.over(now)]

    def find(self, account: str, prefix: str) -> Block | None:
        entry = self._blocks.get(account, {}).get(prefix)
        return entry[0] if entry is not None else None
