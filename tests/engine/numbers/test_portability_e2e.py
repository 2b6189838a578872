"""Issue 18 end to end: a ported number goes to the operator it is on now, over real sockets.

Two simulated operators each carry their own network's numbers; the routing
table filters by network. The portability file says 33612345678, in op-0's
range, is on op-1's network now; rewriting the file moves it back.
"""

from __future__ import annotations

from pathlib import Path

from engine.numbers import PortabilityConfig, PortabilityFiles, install_portability
from router import RoutingTable, load_data
from smpp.constants import CommandStatus as S
from tests.engine.gateway_harness import PRICE, Customer, running_gateway
from tests.engine.peers import RecordingSmsc, recording_operator, submit

PORTED, STAYED = "33612345678", "33612345679"
"""Both in 3361, op-0's range."""

ROUTING = {
    "currency": "EUR",
    "connectors": {"op-0": {}, "op-1": {}},
    "tariffs": {"retail": {"rates": [{"prefix": "33", "price": PRICE}]}},
    "networks": {"3361": "20801", "3362": "20810"},
    "mt_routes": [
        {
            "id": f"to-{connector}",
            "sell_tariff": "retail",
            "filters": {"destination_network": [network]},
            "target": {"kind": "static", "connector": connector},
        }
        for connector, network in (("op-0", "20801"), ("op-1", "20810"))
    ],
}


def destinations(operator: RecordingSmsc) -> list[str]:
    return [request.destination_addr for request in operator.submitted]


async def test_a_ported_number_takes_the_other_operators_route(tmp_path: Path) -> None:
    ported_file = tmp_path / "ported.csv"
    ported_file.write_text(f"number,operator\n{PORTED},20810\n")
    op0, op1 = recording_operator(), recording_operator()
    async with running_gateway("memory", [op0, op1], credit=10 * PRICE) as gateway:
        gateway.pipeline.table = RoutingTable(load_data(ROUTING))
        files = PortabilityFiles(
            PortabilityConfig(file=str(ported_file), check_interval=0),
            lambda ported: install_portability(gateway, ported),
        )
        await files.start()
        connection = await Customer().bind(gateway)
        for destination in (PORTED, STAYED):
            answer = await connection.call(submit(destination))
            assert answer.command_status == S.ESME_ROK
        await op1.wait_until(lambda: destinations(op1) == [PORTED])
        await op0.wait_until(lambda: destinations(op0) == [STAYED])

        moved_back = tmp_path / ".ported.csv"
        moved_back.write_text("number,operator\n")
        moved_back.replace(ported_file)
        assert await files.check()
        await connection.call(submit(PORTED))
        await op0.wait_until(lambda: destinations(op0) == [STAYED, PORTED])
        assert destinations(op1) == [PORTED]
        await connection.unbind()
        await files.stop()
