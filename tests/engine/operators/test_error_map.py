"""The per-connector error map: default kinds, overrides, configuration errors."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.operators.connector_config import ConnectorConfig
from engine.operators.error_map import ErrorKind, ErrorMap, parse_status
from smpp.constants import CommandStatus as S

MINIMAL = {"id": "op1", "host": "smsc.example", "system_id": "smsgw"}
KINDS = {
    ErrorKind.TEMPORARY: "temporary",
    ErrorKind.THROTTLING: "throttling",
    ErrorKind.PERMANENT: "permanent",
}
errors = st.integers(min_value=1, max_value=0xFFFFFFFF)
names = st.sampled_from([name for name in S.__members__ if name != "ESME_ROK"])


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (S.ESME_RTHROTTLED, ErrorKind.THROTTLING),
        (S.ESME_RMSGQFUL, ErrorKind.THROTTLING),
        (S.ESME_RSYSERR, ErrorKind.TEMPORARY),
        (S.ESME_RX_T_APPN, ErrorKind.TEMPORARY),
        (S.ESME_RSUBMITFAIL, ErrorKind.PERMANENT),
        (S.ESME_RINVDSTADR, ErrorKind.PERMANENT),
        (S.ESME_RUNKNOWNERR, ErrorKind.PERMANENT),
        (0x401, ErrorKind.PERMANENT),
    ],
)
def test_defaults(status: int, kind: ErrorKind) -> None:
    assert ErrorMap().classify(status) is kind


@given(errors, st.sampled_from(list(KINDS)), st.booleans())
def test_a_listed_status_takes_the_kind_of_its_list(
    status: int, kind: ErrorKind, by_name: bool
) -> None:
    spec: int | str = S(status).name if by_name and status in S._value2member_map_ else status
    assert ErrorMap(**{KINDS[kind]: [spec]}).classify(status) is kind


@given(st.lists(errors, unique=True, max_size=6), errors)
def test_statuses_not_listed_keep_their_default(listed: list[int], other: int) -> None:
    if other in listed:
        return
    assert ErrorMap(permanent=listed).classify(other) is ErrorMap().classify(other)


@given(names)
def test_every_esme_name_parses_to_its_code(name: str) -> None:
    assert parse_status(name) == S[name]


@pytest.mark.parametrize(
    ("lists", "message"),
    [
        ({"temporary": ["ESME_RTHROTLED"]}, r"temporary_errors\[0\].*did you mean ESME_RTHROTTLED"),
        ({"permanent": [1, "throttled"]}, r"permanent_errors\[1\]: 'throttled' is not"),
        ({"throttling": ["ESME_ROK"]}, "not an error"),
        ({"throttling": [0]}, "not an error"),
        ({"temporary": [-1]}, "not a command_status"),
        ({"temporary": [2**32]}, "not a command_status"),
        ({"temporary": [True]}, "neither"),
        (
            {"temporary": [0x58], "throttling": ["ESME_RTHROTTLED"]},
            r"throttling_errors\[0\]: ESME_RTHROTTLED \(0x58\) is also in temporary_errors",
        ),
    ],
)
def test_bad_lists_are_refused_with_their_place(
    lists: dict[str, list[object]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ErrorMap(**lists)  # type: ignore[arg-type]


def test_the_connector_config_takes_names_and_integers() -> None:
    config = msgspec.convert(
        {
            **MINIMAL,
            "temporary_errors": ["ESME_RSUBMITFAIL"],
            "throttling_errors": [0x45 + 1],
            "permanent_errors": [8],
        },
        ConnectorConfig,
    )
    errors = config.error_map()
    assert errors.classify(S.ESME_RSUBMITFAIL) is ErrorKind.TEMPORARY
    assert errors.classify(0x46) is ErrorKind.THROTTLING
    assert errors.classify(S.ESME_RSYSERR) is ErrorKind.PERMANENT


@pytest.mark.parametrize(
    "change",
    [
        {"temporary_errors": ["ESME_NOPE"]},
        {"temporary_errors": [0x14], "permanent_errors": [0x14]},
        {"throttling_errors": [1.5]},
        {"throttle_decrease": 1.0},
        {"throttle_floor": 0},
    ],
)
def test_the_connector_config_refuses_a_bad_map(change: dict[str, object]) -> None:
    with pytest.raises(msgspec.ValidationError, match=next(iter(change))):
        msgspec.convert({**MINIMAL, **change}, ConnectorConfig)
