"""Web console users and their sessions (docs/console.md): who may log in to
the console (staff) and the portal (customers), and with which role."""

from engine.console.audit_pages import AuditFilter, AuditPage, audit_page
from engine.console.service import Console, ConsoleUsers, LoginOutcome, UserRefused
from engine.console.store import (
    ConsoleUserStore,
    MemoryConsoleUserStore,
    RedisConsoleUserStore,
)
from engine.console.users import ACCOUNT_ROLES, ROLES, ConsoleUser, Role, Session

__all__ = [
    "ACCOUNT_ROLES",
    "ROLES",
    "AuditFilter",
    "AuditPage",
    "Console",
    "ConsoleUser",
    "ConsoleUserStore",
    "ConsoleUsers",
    "LoginOutcome",
    "MemoryConsoleUserStore",
    "RedisConsoleUserStore",
    "Role",
    "Session",
    "UserRefused",
    "audit_page",
]
