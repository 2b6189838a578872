"""The persister's settings refuse what would stall or spin it, naming the setting."""

from __future__ import annotations

import msgspec
import pytest

from ledger.config import PersisterConfig

POSITIVE = ("batch_size", "in_process_batch_size", "block_ms", "retry_base", "retry_cap", "workers")


@pytest.mark.parametrize("name", POSITIVE)
def test_a_setting_that_must_be_positive_refuses_zero(name: str) -> None:
    with pytest.raises(ValueError, match=f"{name}: must be > 0, got 0"):
        PersisterConfig(**{name: 0})


@pytest.mark.parametrize("name", ["retention_days", "partitions_ahead_days", "linger_ms"])
def test_a_count_refuses_a_negative(name: str) -> None:
    with pytest.raises(ValueError, match=f"{name}: a non-negative integer, got -1"):
        PersisterConfig(**{name: -1})


def test_a_config_file_value_is_refused_the_same_way() -> None:
    with pytest.raises(msgspec.ValidationError, match="in_process_batch_size: must be > 0"):
        msgspec.convert({"in_process_batch_size": 0}, PersisterConfig)
