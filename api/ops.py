"""Placeholder while the module is being written (issue 6)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from api.openapi import Operation

routes: list[BaseRoute] = []
OPERATIONS: list[Operation] = []
