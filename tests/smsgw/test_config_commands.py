"""`smsgw init` and `smsgw config check`, run in-process through the CLI."""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec
import pytest

from engine.config import GatewayConfig, load_config_file
from router import RoutingTable
from smsgw.cli import main
from smsgw.config_commands import example_text
from smsgw.config_docs import render


def test_the_example_loads_with_the_real_loader_and_builds_a_gateway_config(
    tmp_path: Path,
) -> None:
    path = tmp_path / "smsgw.toml"
    assert main(["init", str(path)]) == 0
    config = load_config_file(path)
    assert isinstance(config, GatewayConfig)
    assert config.routing is not None
    assert RoutingTable(config.routing).sizes["mt_routes"] == 3
    assert config.api.port and config.metrics_port and config.listeners[0].port == 2775


def test_the_example_shows_every_part_an_operator_sets() -> None:
    data = tomllib.loads(example_text())
    for section in ("listeners", "accounts", "connectors", "limits", "api", "routing"):
        assert section in data, section
    for section in ("tariffs", "mt_routes", "mo_routes"):
        assert section in data["routing"], section
    assert "hash-password" in data["accounts"][0]["password_hash"]


def test_config_check_passes_on_the_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "smsgw.toml"
    path.write_text(example_text())
    assert main(["config", "check", str(path)]) == 0
    assert capsys.readouterr().out.strip().endswith("ok (1 accounts, 1 connectors, 3 MT routes)")


def test_init_refuses_to_overwrite_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "smsgw.toml"
    path.write_text("mine")
    assert main(["init", str(path)]) == 2
    assert path.read_text() == "mine"
    assert "--force" in capsys.readouterr().err
    assert main(["init", "--force", str(path)]) == 0
    assert path.read_text() == example_text()


def test_init_dash_writes_the_example_to_standard_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["init", "-"]) == 0
    assert capsys.readouterr().out == example_text()


def test_config_check_prints_every_error_with_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = (
        example_text()
        .replace("throughput = 50 ", "throughput = -5")
        .replace("max_binds = 4", 'max_binds = "four"')
        .replace('currency = "EUR"', 'currency = "euro"')
        .replace("shard_number = 1", "shard_number = 1\nsurprise = true")
    )
    path = tmp_path / "smsgw.toml"
    path.write_text(broken)
    assert main(["config", "check", str(path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert sorted(line.split(":")[0] for line in lines[:-1]) == [
        "accounts[0].max_binds",
        "connectors[0].throughput",
        "routing.currency",
        "surprise",
    ]
    assert "connectors[0].throughput: expected `float` > 0.0" in lines
    assert lines[-1] == f"{path}: 4 error(s)"


def test_config_check_of_a_missing_file_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "check", str(tmp_path / "absent.toml")]) == 2
    assert "absent.toml" in capsys.readouterr().err


def test_the_committed_configuration_reference_is_the_generated_one() -> None:
    committed = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    assert committed == render(), (
        "docs/configuration.md is stale: python -m smsgw.config_docs > docs/configuration.md"
    )


def test_the_reference_documents_every_field_with_the_docstring_under_it() -> None:
    page = render()
    for field in msgspec.structs.fields(GatewayConfig):
        assert f"| `{field.encode_name}` |" in page, field.name
    drain = "| `drain_timeout` | number | `10.0` | Seconds SIGTERM waits for in-flight windows"
    assert drain in page
    assert '## [routing.mt_routes.target] kind = "least_cost"' in page
