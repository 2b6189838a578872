"""Loading portability files at start, and swapping a new table in when they change."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import msgspec
import pytest
from structlog.testing import capture_logs

from engine.numbers import (
    PortabilityConfig,
    PortabilityFileError,
    PortabilityFiles,
    install_portability,
)
from engine.numbers.portability import file_state, load
from router import PortedNumbers, RoutingTable, load_data, ported_numbers

WAIT = 5.0


def put(path: Path, text: str) -> None:
    """Write as an operator should: under a dot name, then renamed into place."""
    hidden = path.with_name("." + path.name)
    hidden.write_text(text)
    hidden.replace(path)


@pytest.fixture
def config(tmp_path: Path) -> PortabilityConfig:
    put(tmp_path / "ported.csv", "number,operator\n33612345678,20810\n33612345679,20810\n")
    (tmp_path / "deltas").mkdir()
    return PortabilityConfig(
        file=str(tmp_path / "ported.csv"), deltas=str(tmp_path / "deltas"), check_interval=0
    )


def numbers(ported: PortedNumbers | None) -> dict[str, str]:
    assert ported is not None
    return dict(ported.items())


class Installed:
    """An install callback that keeps each table and wakes whoever waits for one."""

    def __init__(self) -> None:
        self.tables: list[PortedNumbers] = []
        self.changed = asyncio.Event()

    def __call__(self, ported: PortedNumbers) -> None:
        self.tables.append(ported)
        self.changed.set()

    async def next(self) -> PortedNumbers:
        async with asyncio.timeout(WAIT):
            await self.changed.wait()
        self.changed.clear()
        return self.tables[-1]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"check_interval": -1}, "check_interval must be >= 0"),
        ({"deltas": "/var/lib/deltas"}, "deltas apply on top of a file: set file too"),
        ({"file": "x", "every": 3}, "Object contains unknown field `every`"),
    ],
)
def test_config_is_checked(data: dict[str, object], message: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=message):
        msgspec.convert(data, PortabilityConfig)


def test_deltas_apply_in_name_order_and_hidden_files_are_skipped(
    config: PortabilityConfig, tmp_path: Path
) -> None:
    put(tmp_path / "deltas" / "2026-03-02.csv", "33612345678,20815\n33600000000,20801\n")
    put(tmp_path / "deltas" / "2026-03-01.csv", "33612345678,20801\n33612345679,\n")
    (tmp_path / "deltas" / ".2026-03-03.csv").write_text("33612345678,")
    loaded = load(config, file_state(config), None)
    assert numbers(loaded.ported) == {"33612345678": "20815", "33600000000": "20801"}
    assert [name for name, _ in loaded.files[1]] == ["2026-03-01.csv", "2026-03-02.csv"]


def test_new_deltas_alone_update_the_table_in_use(
    config: PortabilityConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load(config, file_state(config), None)
    put(tmp_path / "deltas" / "1.csv", "33612345679,\n")
    monkeypatch.setattr("engine.numbers.portability.read_ported_file", _no_full_read)
    second = load(config, file_state(config), first)
    assert numbers(second.ported) == {"33612345678": "20810"}
    assert numbers(first.ported) == {"33612345678": "20810", "33612345679": "20810"}


def _no_full_read(path: object) -> PortedNumbers:
    raise AssertionError("the full file was read again")


@pytest.mark.parametrize("change", ["full file", "earlier delta", "delta rewritten"])
def test_other_changes_rebuild_from_the_full_file(
    change: str, config: PortabilityConfig, tmp_path: Path
) -> None:
    deltas = tmp_path / "deltas"
    put(deltas / "2.csv", "33612345679,\n")
    first = load(config, file_state(config), None)
    if change == "full file":
        put(tmp_path / "ported.csv", "33612345678,20801\n")
        expected = {"33612345678": "20801"}
    elif change == "earlier delta":
        put(deltas / "1.csv", "33612345679,20815\n33612345677,20815\n")
        expected = {"33612345678": "20810", "33612345677": "20815"}
    else:
        put(deltas / "2.csv", "33612345678,\n")
        expected = {"33612345679": "20810"}
    assert numbers(load(config, file_state(config), first).ported) == expected


async def test_start_installs_and_a_check_swaps_in_what_changed(
    config: PortabilityConfig, tmp_path: Path
) -> None:
    installed = Installed()
    files = PortabilityFiles(config, installed)
    await files.start()
    assert numbers(await installed.next()) == {"33612345678": "20810", "33612345679": "20810"}
    assert await files.check() is False
    put(tmp_path / "deltas" / "1.csv", "33612345678,\n")
    with capture_logs() as logs:
        assert await files.check() is True
    assert numbers(installed.tables[-1]) == {"33612345679": "20810"}
    assert files.ported is installed.tables[-1]
    assert logs[0]["event"] == "portability loaded" and logs[0]["numbers"] == 1
    await files.stop()


async def test_start_refuses_a_bad_file(config: PortabilityConfig, tmp_path: Path) -> None:
    put(tmp_path / "ported.csv", "33612345678,20810\nnot a row\n")
    installed = Installed()
    with pytest.raises(PortabilityFileError, match=r"ported\.csv:2: expected `number,operator`"):
        await PortabilityFiles(config, installed).start()
    assert installed.tables == []


async def test_a_refused_change_is_logged_once_and_the_table_in_use_stays(
    config: PortabilityConfig, tmp_path: Path
) -> None:
    installed = Installed()
    files = PortabilityFiles(config, installed)
    await files.start()
    in_use = await installed.next()
    put(tmp_path / "deltas" / "1.csv", "33612345678,20810\n33612345679,bad\n")
    with capture_logs() as logs:
        assert await files.check() is False
        assert await files.check() is False
    assert len(logs) == 1 and logs[0]["log_level"] == "error"
    assert "1.csv:2: operator 'bad'" in logs[0]["error"]
    assert installed.tables == [in_use] and files.ported is in_use
    put(tmp_path / "deltas" / "1.csv", "33612345679,\n")
    assert await files.check() is True
    assert numbers(files.ported) == {"33612345678": "20810"}
    (tmp_path / "ported.csv").unlink()
    with capture_logs() as logs:
        assert await files.check() is False
    assert "No such file" in logs[0]["error"]
    await files.stop()


async def test_the_watch_swaps_a_changed_file_in_by_itself(tmp_path: Path) -> None:
    put(tmp_path / "ported.csv", "33612345678,20810\n")
    config = PortabilityConfig(file=str(tmp_path / "ported.csv"), check_interval=0.01)
    installed = Installed()
    files = PortabilityFiles(config, installed)
    await files.start()
    await installed.next()
    put(tmp_path / "ported.csv", "33612345678,20801\n")
    assert numbers(await installed.next()) == {"33612345678": "20801"}
    await files.stop()


def test_install_swaps_the_gateways_table_whole() -> None:
    table = RoutingTable(load_data({"currency": "EUR"}))
    gateway = SimpleNamespace(pipeline=SimpleNamespace(table=table))
    ported = ported_numbers([("33612345678", "20810")])
    install_portability(gateway, ported)
    assert gateway.pipeline.table is not table and gateway.pipeline.table.ported is ported
    assert table.ported is None
    install_portability(gateway, None)
    assert gateway.pipeline.table.ported is None
