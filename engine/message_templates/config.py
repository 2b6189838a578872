"""The ``[templates]`` section: how large a template and its values may be.

```toml
[templates]
max_body_length = 1600          # characters of a template's text
max_per_account = 200           # templates one account may keep
max_value_length = 160          # characters of one variable's value
```
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

MAX_TEXT = 255 * 153
"""The longest text a message may have (255 GSM 7-bit parts): no template body
or value is allowed past it, whatever the file says."""


class TemplatesConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    max_body_length: Annotated[int, Meta(ge=1, le=MAX_TEXT)] = 1_600
    """Characters of a template's body, placeholders included (10 GSM parts)."""
    max_per_account: Annotated[int, Meta(ge=1, le=100_000)] = 200
    """Templates one account may keep; creating one more is refused."""
    max_value_length: Annotated[int, Meta(ge=1, le=MAX_TEXT)] = 160
    """Characters of one variable's value: a value is a code, a name, an
    amount, not a whole message smuggled past the body's review."""
