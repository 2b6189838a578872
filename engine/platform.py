"""The platform features behind the web console (issue 19), as the facade
holds them: each is None where the composition root did not install it."""

from __future__ import annotations


class Platform:
    def __init__(self) -> None:
        pass
