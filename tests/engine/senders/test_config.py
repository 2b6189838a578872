"""An account's sender policy in the config file: checked at load with its place."""

from __future__ import annotations

import pytest

from engine.config import ConfigError, load_config
from tests.engine.test_config import GOOD


def test_the_policy_and_default_sender_load() -> None:
    text = GOOD.replace(
        "priority = 1", 'priority = 1\nsender_policy = "rewrite"\ndefault_sender = "MyBank"'
    )
    account = load_config(text).accounts[0]
    assert (account.sender_policy, account.default_sender) == ("rewrite", "MyBank")
    assert load_config(GOOD).accounts[0].sender_policy == "open"


@pytest.mark.parametrize(
    ("lines", "why"),
    [
        ('sender_policy = "rewrite"', 'sender_policy "rewrite" needs a default_sender'),
        (
            'default_sender = "Much Too Long"',
            "default_sender: an alphanumeric sender has at most 11",
        ),
        ('sender_policy = "strict"', "accounts\\[0\\]"),
    ],
)
def test_a_wrong_policy_is_refused_with_its_place(lines: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why) as caught:
        load_config(GOOD.replace("priority = 1", f"priority = 1\n{lines}"))
    assert all(issue.startswith("accounts[0]") for issue in caught.value.issues)
