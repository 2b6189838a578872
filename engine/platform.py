"""The platform features behind the web console (issue 19), as the facade
holds them: each is None where the composition root did not install it."""

from __future__ import annotations

from engine.console.dashboard_sampler import DashboardSampler
from engine.message_templates import MessageTemplates
from engine.resellers.service import Resellers
from engine.senders.service import SenderRegistry
from ledger.usage import UsageQuery


class Platform:
    def __init__(self) -> None:
        self.templates: MessageTemplates | None = None
        """Customers' message templates with variables (docs/templates.md)."""
        self.senders: SenderRegistry | None = None
        """The sender IDs accounts may send from (docs/senders.md)."""
        self.resellers: Resellers | None = None
        """Resellers' sub-accounts, transfers and markups (docs/resellers.md)."""
        self.dashboard: DashboardSampler | None = None
        """The staff dashboard's figures over time (docs/console-dashboard.md)."""
        self.usage: UsageQuery | None = None
        """Accounts' usage per day, state and operator (docs/console-dashboard.md)."""
