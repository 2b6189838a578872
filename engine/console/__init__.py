"""Web console users and their sessions (docs/console.md): who may log in to
the console (staff) and the portal (customers), and with which role."""

from engine.console.service import Console, ConsoleUsers, LoginOutcome
from engine.console.store import (
    ConsoleUserStore,
    MemoryConsoleUserStore,
    RedisConsoleUserStore,
)
from engine.console.users import ROLES, ConsoleUser, Role, Session

__all__ = [
    "ROLES",
    "Console",
    "ConsoleUser",
    "ConsoleUserStore",
    "ConsoleUsers",
    "LoginOutcome",
    "MemoryConsoleUserStore",
    "RedisConsoleUserStore",
    "Role",
    "Session",
]
