from datetime import UTC, datetime

import msgspec
import pytest

from engine.billing.pricing import NO_RATES, Pricer
from engine.customers.accounts import AccountConfig
from engine.messages.intake import (
    Refused,
    ValidityLimits,
    message_priority,
    prepare_mt,
    routed_again,
)
from engine.messages.message import MtMessage, Priority
from router import RoutingTable, load_data
from smpp import pdu as p
from smpp.constants import CommandStatus as S
from smpp.smpptime import format_absolute
from smpp.tlv import Tag

PRICER = Pricer(NO_RATES)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC).timestamp()
ACCOUNT = AccountConfig(id="bank", password_hash="x", groups=("banks",))
TABLE = RoutingTable(
    load_data(
        {
            "currency": "EUR",
            "connectors": {"op-a": {}, "op-b": {}},
            "tariffs": {"retail": {"rates": [{"prefix": "33", "price": 45_000}]}},
            "mt_routes": [
                {
                    "id": "premium",
                    "filters": {"destination_prefix": ["33899"]},
                    "target": {"kind": "reject", "command_status": 0x45, "reason": "premium"},
                },
                {
                    "id": "fr",
                    "sell_tariff": "retail",
                    "filters": {"destination_prefix": ["33"]},
                    "target": {"kind": "failover", "connectors": ["op-a", "op-b"]},
                },
            ],
        }
    )
)


def prepare(request: p.SubmitSm) -> MtMessage | Refused:
    return prepare_mt(request, ACCOUNT, TABLE, PRICER, "m1", NOW, ValidityLimits(3600, 7200))


def test_a_routed_message_is_priced_and_counted() -> None:
    text = "Your code is 123456. " * 10
    message = prepare(
        p.SubmitSm(
            source_addr="BANK",
            destination_addr="33612345678",
            short_message=text.encode("ascii"),
            registered_delivery=1,
        )
    )
    assert isinstance(message, MtMessage)
    assert (message.parts, message.price_per_part) == (2, 45_000)
    assert message.connectors == ("op-a", "op-b")
    assert message.expires_at == NOW + 3600
    assert message.priority is Priority.NORMAL


def test_message_payload_carries_the_text() -> None:
    long = ("é" * 100).encode("utf-16-be")
    message = prepare(
        p.SubmitSm(
            destination_addr="33612345678",
            data_coding=8,
            tlvs={Tag.MESSAGE_PAYLOAD: long},
        )
    )
    assert isinstance(message, MtMessage)
    assert message.user_data == long and message.parts == 2


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        (p.SubmitSm(destination_addr=""), S.ESME_RINVDSTADR),
        (p.SubmitSm(destination_addr="4477009"), S.ESME_RINVDSTADR),
        (p.SubmitSm(destination_addr="33899123456"), 0x45),
        (
            p.SubmitSm(destination_addr="336", schedule_delivery_time="261121130000000+"),
            S.ESME_RINVSCHED,
        ),
        (p.SubmitSm(destination_addr="336", validity_period="201121130000000+"), S.ESME_RINVEXPIRY),
        (
            p.SubmitSm(
                destination_addr="336", short_message=b"a", tlvs={Tag.MESSAGE_PAYLOAD: b"b"}
            ),
            S.ESME_RINVOPTPARAMVAL,
        ),
        (
            p.SubmitSm(destination_addr="336", data_coding=8, short_message=b"abc"),
            S.ESME_RINVMSGLEN,
        ),
    ],
)
def test_refusals_carry_their_status(request_: p.SubmitSm, status: int) -> None:
    refused = prepare(request_)
    assert isinstance(refused, Refused) and refused.status == status


def test_validity_is_capped_at_the_maximum() -> None:
    far = format_absolute(datetime(2026, 11, 25, tzinfo=UTC))
    message = prepare(p.SubmitSm(destination_addr="336", validity_period=far))
    assert isinstance(message, MtMessage) and message.expires_at == NOW + 7200


def test_priority_flag_three_is_otp() -> None:
    assert message_priority(ACCOUNT, 3) is Priority.OTP
    assert message_priority(ACCOUNT, 2) is Priority.EXPRESS
    assert message_priority(ACCOUNT, 0) is Priority.NORMAL


def test_an_adopted_message_is_routed_again_only_at_the_price_it_holds() -> None:
    message = prepare(p.SubmitSm(source_addr="BANK", destination_addr="33612345678"))
    assert isinstance(message, MtMessage)
    elsewhere = msgspec.structs.replace(message, connectors=("op-z",), cost_per_part=1)
    again = routed_again(elsewhere, ACCOUNT, TABLE, PRICER, frozenset({"op-b"}), NOW)
    assert again == msgspec.structs.replace(message, connectors=("op-b",))
    dearer = msgspec.structs.replace(elsewhere, price_per_part=message.price_per_part + 1)
    assert routed_again(dearer, ACCOUNT, TABLE, PRICER, None, NOW) is None
    premium = msgspec.structs.replace(elsewhere, destination_addr="33899000000")
    assert routed_again(premium, ACCOUNT, TABLE, PRICER, None, NOW) is None
