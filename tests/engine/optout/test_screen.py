"""The screen on the accept path: the global list refuses every account's
message, an account's list only its own, OTP passes its own list by policy."""

from __future__ import annotations

import timeit

from engine.customers.accounts import AccountConfig
from engine.messages.intake import Refused
from engine.messages.message import Priority
from engine.optout.config import AccountOptOut, OptOutConfig
from engine.optout.mirror import OptOutMirror
from engine.optout.screen import ON_ACCOUNT, ON_GLOBAL, OptOutScreen
from router import MtRouted
from smpp.constants import CommandStatus as S

FR, IR = "33612345678", "989121234567"
BANK = AccountConfig(id="bank", password_hash="x")
SHOP = AccountConfig(id="shop", password_hash="x")
POLICY = OptOutConfig(accounts={"bank": AccountOptOut(otp_bypass=True)})


def routed(destination: str) -> MtRouted:
    return MtRouted(
        route_id="fr", connectors=("op-0",), destination=destination, network="", sell_per_part=1,
        cost_per_part=None, currency="EUR", plan_id="", cost_currency="EUR", country="FR",
    )  # fmt: skip


def verdict(
    screen: OptOutScreen, account: AccountConfig, number: str, priority: Priority = Priority.NORMAL
) -> Refused | None:
    return screen.screen(account, routed(number), priority, 0.0)


def test_an_account_list_refuses_that_account_only_naming_it() -> None:
    mirror = OptOutMirror()
    screen = OptOutScreen(mirror, OptOutConfig())
    mirror.mark("bank", [FR], True)
    assert verdict(screen, BANK, FR) is ON_ACCOUNT
    reason = "the recipient is on this account's opt-out list"
    assert Refused(S.ESME_RX_R_APPN, reason, "opted_out") == ON_ACCOUNT
    assert verdict(screen, SHOP, FR) is None
    assert verdict(screen, BANK, IR) is None


def test_the_global_list_refuses_every_account_even_an_otp() -> None:
    mirror = OptOutMirror()
    screen = OptOutScreen(mirror, POLICY)
    mirror.mark(None, [IR], True)
    assert verdict(screen, SHOP, IR) is ON_GLOBAL
    assert verdict(screen, BANK, IR, Priority.OTP) is ON_GLOBAL
    assert ON_GLOBAL.reason == "the recipient is on the global opt-out list"
    mirror.mark(None, [IR], False)
    assert verdict(screen, SHOP, IR) is None


def test_an_otp_passes_its_account_list_where_the_policy_says() -> None:
    mirror = OptOutMirror()
    screen = OptOutScreen(mirror, POLICY)
    mirror.mark("bank", [FR], True)
    mirror.mark("shop", [FR], True)
    assert verdict(screen, BANK, FR, Priority.OTP) is None
    assert verdict(screen, BANK, FR, Priority.EXPRESS) is ON_ACCOUNT
    assert verdict(screen, SHOP, FR, Priority.OTP) is ON_ACCOUNT


def test_a_confirmation_passes_its_account_list_while_it_is_submitted() -> None:
    mirror = OptOutMirror()
    screen = OptOutScreen(mirror, OptOutConfig())
    mirror.mark("bank", [FR, IR], True)
    with screen.exempting("bank", FR):
        assert verdict(screen, BANK, FR) is None
        assert verdict(screen, BANK, IR) is ON_ACCOUNT
        assert verdict(screen, SHOP, FR) is None
    assert verdict(screen, BANK, FR) is ON_ACCOUNT
    mirror.mark(None, [FR], True)
    with screen.exempting("bank", FR):
        assert verdict(screen, BANK, FR) is ON_GLOBAL


def test_a_full_read_keeps_the_marks_made_while_it_ran() -> None:
    mirror = OptOutMirror()
    mirror.mark("bank", ["1111111", "2222222"], True)
    mirror.begin_read("bank")
    mirror.mark("bank", ["3333333"], True)  # listed after the read passed it
    mirror.mark("bank", ["2222222"], False)  # taken off after the read saw it
    mirror.replace("bank", {"1111111", "2222222"})
    assert mirror.accounts["bank"] == {"1111111", "3333333"}
    mirror.mark("bank", ["4444444"], True)
    mirror.begin_read("bank")
    mirror.cancel_read("bank")
    mirror.replace("bank", set())
    assert "bank" not in mirror.accounts and mirror.size("bank") == 0


def test_a_lookup_is_a_fraction_of_a_microsecond() -> None:
    """Per message on the accept path: a million listed numbers change nothing."""
    mirror = OptOutMirror()
    screen = OptOutScreen(mirror, POLICY)
    mirror.mark(None, (str(33_600_000_000 + i) for i in range(1_000_000)), True)
    mirror.mark("bank", [FR], True)
    decision = routed("33712345678")
    runs = 100_000
    seconds = min(
        timeit.repeat(
            lambda: screen.screen(SHOP, decision, Priority.NORMAL, 0.0), number=runs, repeat=3
        )
    )
    assert seconds / runs < 2e-6, f"{seconds / runs * 1e9:.0f} ns per lookup"
