"""The ``[console]`` section: whether `smsgw serve` serves the web console,
and where its cookie secret comes from. The secret is never in the TOML
(config files get copied, diffed, pasted): it is the environment variable
``SMSGW_CONSOLE_SECRET`` or the file ``secret_file``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

SECRET_ENV = "SMSGW_CONSOLE_SECRET"
MIN_SECRET_BYTES = 32


class ConsoleConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    enabled: bool = False
    """Serve /console and /portal on the HTTP front (``[api]``)."""
    secure_cookies: bool = True
    """Cookies only over HTTPS; false only behind no TLS at all (a loopback test)."""
    secret_file: str = ""
    """A file holding the cookie secret (at least 32 bytes), when
    ``SMSGW_CONSOLE_SECRET`` is not set."""


class ConsoleSecretError(ValueError):
    """The console is on but has no usable cookie secret."""


def console_secret(config: ConsoleConfig, environ: Mapping[str, str] = os.environ) -> bytes:
    """The cookie secret: ``SMSGW_CONSOLE_SECRET``, else ``secret_file``'s
    content (surrounding whitespace dropped); refused under 32 bytes."""
    given = environ.get(SECRET_ENV, "")
    if given:
        secret, origin = given.strip().encode(), SECRET_ENV
    elif config.secret_file:
        try:
            secret = Path(config.secret_file).read_bytes().strip()
        except OSError as exc:
            raise ConsoleSecretError(
                f"console.secret_file {config.secret_file!r}: {exc.strerror}"
            ) from None
        origin = f"console.secret_file {config.secret_file!r}"
    else:
        raise ConsoleSecretError(
            f"the console is enabled but has no cookie secret: set {SECRET_ENV} "
            f"or console.secret_file to at least {MIN_SECRET_BYTES} bytes "
            "(e.g. `openssl rand -hex 32`)"
        )
    if len(secret) < MIN_SECRET_BYTES:
        raise ConsoleSecretError(
            f"{origin}: the console's cookie secret needs at least {MIN_SECRET_BYTES} bytes, "
            f"it has {len(secret)}"
        )
    return secret
