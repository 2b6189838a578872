"""The deployment files agree with each other and with the code: what compose
mounts exists, the shards' configs load, the image listens where it says."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from engine.config import load_config_file
from smsgw.cli import build_parser

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
CONTAINERFILE = (ROOT / "Containerfile").read_text()


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_has_every_service_of_the_deployment() -> None:
    services = compose()["services"]
    expected = {"redis", "postgres", "migrate", "shard-1", "shard-2", "persister"}
    assert expected | {"prometheus", "grafana"} <= services.keys()
    assert services["persister"]["command"][:2] == ["ledger", "persist"]
    assert services["migrate"]["command"] == ["migrate"]


def test_every_file_compose_mounts_exists() -> None:
    mounts = [
        volume.split(":")[0]
        for service in compose()["services"].values()
        for volume in service.get("volumes", [])
        if volume.startswith(".")
    ]
    assert "./config/shard-1.toml" in mounts and "./prometheus" in mounts
    missing = [mount for mount in mounts if not (DEPLOY / mount).exists()]
    assert not missing, f"compose.yaml mounts what deploy/ lacks: {missing}"


def test_the_shards_configs_load_and_differ_only_in_their_identity() -> None:
    services = compose()["services"]
    configs = {}
    for name in ("shard-1", "shard-2"):
        (mount,) = [v for v in services[name]["volumes"] if v.endswith(":/etc/smsgw/smsgw.toml:ro")]
        configs[name] = load_config_file(DEPLOY / mount.split(":")[0])
    one, two = configs["shard-1"], configs["shard-2"]
    assert (one.shard, one.shard_number) != (two.shard, two.shard_number)
    same = msgspec.structs.replace(two, shard=one.shard, shard_number=one.shard_number)
    assert same == one
    assert not one.persister_in_process  # the persister is its own service
    published = {port.split(":")[1] for port in services["shard-1"]["ports"]}
    assert published == {str(one.listeners[0].port), str(one.api.port)}
    assert one.connectors[0].host in services  # the simulated operator


def test_the_image_listens_on_every_interface_and_checks_readiness() -> None:
    assert re.search(r"^USER smsgw$", CONTAINERFILE, re.M)
    assert re.search(r"^EXPOSE 2775 8080 9102$", CONTAINERFILE, re.M)
    assert "SMSGW_HOST=0.0.0.0" in CONTAINERFILE
    assert "SMSGW_READY_URL=http://127.0.0.1:8080/ready" in CONTAINERFILE
    healthcheck = re.search(r"^HEALTHCHECK .*\n.*CMD (.*)$", CONTAINERFILE, re.M)
    assert healthcheck is not None and "urllib.request.urlopen" in healthcheck.group(1)


def test_the_image_copies_every_package_the_wheel_includes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {
        name.rstrip("*") for name in project["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    copied = set(re.findall(r"^COPY (\w+) \1$", CONTAINERFILE, re.M))
    assert packages <= copied


def test_serve_takes_its_default_host_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMSGW_HOST", "0.0.0.0")
    assert build_parser().parse_args(["serve"]).host == "0.0.0.0"
    monkeypatch.delenv("SMSGW_HOST")
    assert build_parser().parse_args(["serve"]).host is None


def test_the_systemd_unit_serves_its_instance_and_reloads_on_hup() -> None:
    unit = (DEPLOY / "smsgw@.service").read_text()
    assert "ExecStart=/opt/smsgw/bin/smsgw serve --config /etc/smsgw/%i.toml" in unit
    assert "ExecStartPre=/opt/smsgw/bin/smsgw config check /etc/smsgw/%i.toml" in unit
    assert "ExecReload=/bin/kill -HUP $MAINPID" in unit
    assert re.search(r"^User=smsgw$", unit, re.M)


def test_prometheus_scrapes_every_shard_at_its_metrics_port() -> None:
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {
        target
        for job in scrape["scrape_configs"]
        for group in job["static_configs"]
        for target in group["targets"]
    }
    for name in ("shard-1", "shard-2"):
        config = load_config_file(DEPLOY / "config" / f"{name}.toml")
        assert f"{name}:{config.metrics_port}" in targets


def test_grafana_loads_the_dashboards_compose_mounts() -> None:
    grafana = compose()["services"]["grafana"]["volumes"]
    mounted = dict(volume.split(":")[:2] for volume in grafana if volume.startswith("."))
    provider = yaml.safe_load(
        (DEPLOY / "grafana-provisioning" / "dashboards" / "smsgw.yaml").read_text()
    )
    assert mounted["./grafana"] == provider["providers"][0]["options"]["path"]
    assert list((DEPLOY / "grafana").glob("*.json"))
