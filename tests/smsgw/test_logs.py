"""One format and one level table for every logger of the process, and no secret in a line."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import orjson
import pytest
import structlog

from engine.config import ConfigError, load_config
from smsgw.logs import MASK, configure_logging, mask_secrets, set_levels


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state: give it back to pytest."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    named = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    set_levels("info", {})
    for name, logger in logging.root.manager.loggerDict.items():
        if isinstance(logger, logging.Logger):
            logger.setLevel(named.get(name, logging.NOTSET))
    structlog.reset_defaults()


def json_lines(out: io.StringIO) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def test_structlog_and_stdlib_loggers_come_out_as_the_same_json_lines() -> None:
    out = io.StringIO()
    configure_logging(json=True, stream=out)
    structlog.get_logger("smsgw.test").warning("bind failed", connector="op-1", retry_in=2.0)
    logging.getLogger("ledger.persister").warning(
        "postgresql unreachable, retrying", extra={"events": 3}
    )
    logging.getLogger("asyncpg.pool").error("connection lost: %s", "reset")
    ours, persister, library = json_lines(out)
    assert ours == {
        "event": "bind failed",
        "connector": "op-1",
        "retry_in": 2.0,
        "logger": "smsgw.test",
        "level": "warning",
        "timestamp": ours["timestamp"],
    }
    assert str(ours["timestamp"]).endswith("Z")
    assert persister["event"] == "postgresql unreachable, retrying"
    assert persister["events"] == 3 and persister["level"] == "warning"
    assert persister["logger"] == "ledger.persister" and "timestamp" in persister
    assert library["event"] == "connection lost: reset" and library["logger"] == "asyncpg.pool"


def test_an_exception_is_one_json_field() -> None:
    out = io.StringIO()
    configure_logging(json=True, stream=out)
    try:
        raise ConnectionError("redis gone")
    except ConnectionError:
        structlog.get_logger("smsgw.test").exception("batch failed")
    (line,) = json_lines(out)
    assert line["level"] == "error"
    assert "ConnectionError: redis gone" in str(line["exception"])


def test_dev_lines_are_readable_not_json() -> None:
    out = io.StringIO()
    configure_logging(json=False, stream=out)
    structlog.get_logger("smsgw.test").info("bound", account="bank")
    logging.getLogger("uvicorn.error").warning("shutting down")
    ours, uvicorn = out.getvalue().splitlines()
    assert not ours.startswith("{")
    assert "bound" in ours and "account=bank" in ours and "[info" in ours
    assert "shutting down" in uvicorn and "[warning" in uvicorn


def test_levels_are_set_per_logger_and_cover_its_children() -> None:
    out = io.StringIO()
    configure_logging(json=True, level="warning", levels={"smsgw.connector": "debug"}, stream=out)
    structlog.get_logger("smsgw.connector").debug("window full", connector="op-1")
    logging.getLogger("smsgw.connector.pacing").debug("slower")
    structlog.get_logger("smsgw.pipeline").info("not told")
    structlog.get_logger("smsgw.pipeline").warning("told")
    assert [line["event"] for line in json_lines(out)] == ["window full", "slower", "told"]


def test_uvicorn_and_asyncpg_say_only_warnings_unless_asked() -> None:
    out = io.StringIO()
    configure_logging(json=True, stream=out)
    logging.getLogger("uvicorn.error").info("Started server process")
    logging.getLogger("asyncpg").info("chatter")
    logging.getLogger("uvicorn.error").warning("too many connections")
    assert [line["event"] for line in json_lines(out)] == ["too many connections"]
    set_levels("info", {"uvicorn": "info"})
    logging.getLogger("uvicorn.error").info("Started server process")
    assert json_lines(out)[-1]["event"] == "Started server process"


def test_a_reload_takes_back_a_level_no_longer_named() -> None:
    out = io.StringIO()
    configure_logging(json=True, levels={"smsgw.connector": "debug"}, stream=out)
    set_levels("info", {})
    structlog.get_logger("smsgw.connector").debug("not told any more")
    assert out.getvalue() == ""
    assert logging.getLogger("smsgw.connector").level == logging.NOTSET


def test_credentials_and_message_text_are_masked_wherever_they_come_from() -> None:
    out = io.StringIO()
    configure_logging(json=True, stream=out)
    structlog.get_logger("smsgw.test").warning(
        "careless call",
        password="s3cret",
        api_key="k-123",
        Authorization="Bearer k-123",
        short_message="Your code is 1234",
        text="Your code is 1234",
        reason={"admin_password_hash": "abc", "status": "ESME_RBINDFAIL"},
        account="bank",
    )
    logging.getLogger("ledger.persister").warning("careless", extra={"client_secret": "x"})
    ours, stdlib = json_lines(out)
    for key in ("password", "api_key", "Authorization", "short_message", "text"):
        assert ours[key] == MASK, key
    assert ours["reason"] == {"admin_password_hash": MASK, "status": "ESME_RBINDFAIL"}
    assert ours["account"] == "bank" and ours["event"] == "careless call"
    assert stdlib["client_secret"] == MASK
    assert "s3cret" not in out.getvalue() and "1234" not in out.getvalue()


def test_the_mask_leaves_other_fields_alone() -> None:
    fields = {"event": "bound", "system_id": "bank", "context": "x", "key": "op-1"}
    assert mask_secrets(None, "info", dict(fields)) == fields


def test_the_logging_section_of_the_config() -> None:
    config = load_config(
        '[logging]\nlevel = "warning"\n'
        'levels = { "smsgw.connector" = "debug", asyncpg = "error" }\n'
    )
    assert config.logging.level == "warning"
    assert config.logging.levels == {"smsgw.connector": "debug", "asyncpg": "error"}
    assert load_config("").logging.level == "info"
    with pytest.raises(ConfigError) as wrong:
        load_config('[logging]\nlevel = "loud"\nlevels = { uvicorn = "quiet" }\n')
    (issue,) = wrong.value.issues
    assert issue.startswith("logging: ") and "level, levels.uvicorn" in issue
