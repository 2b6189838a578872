"""The ``[templates]`` section of the gateway's file."""

from __future__ import annotations

import pytest

from engine.config import ConfigError, load_config
from engine.message_templates import TemplatesConfig


def test_the_section_is_read_with_its_defaults() -> None:
    assert load_config("").templates == TemplatesConfig()
    config = load_config("[templates]\nmax_per_account = 5\nmax_value_length = 12\n")
    assert (config.templates.max_per_account, config.templates.max_value_length) == (5, 12)
    assert config.templates.max_body_length == TemplatesConfig().max_body_length


def test_a_bad_value_is_reported_with_its_place() -> None:
    with pytest.raises(ConfigError) as refused:
        load_config("[templates]\nmax_body_length = 0\nbody_limit = 3\n")
    text = str(refused.value)
    assert "templates" in text and "max_body_length" in text and "body_limit" in text
