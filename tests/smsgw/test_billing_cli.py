"""`smsgw billing`: a month that reconciles exits 0, a bad month exits 2 with its form."""

from __future__ import annotations

import subprocess
import sys

from tests.services import (  # noqa: F401  (fixtures)
    database_url_fixture,
    postgres_database_fixture,
)

SMSGW = [sys.executable, "-m", "smsgw.cli", "billing"]


def test_reconcile_of_a_quiet_month_agrees_and_cdrs_are_a_header(database_url: str) -> None:
    run = subprocess.run(
        [*SMSGW, "reconcile", "--month", "2031-07", "--database-url", database_url],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    cdrs = subprocess.run(
        [*SMSGW, "cdrs", "--month", "2031-07", "--database-url", database_url],
        capture_output=True,
        text=True,
    )
    assert cdrs.returncode == 0 and cdrs.stdout.startswith("message_id,part,")
    assert "0 CDR(s) of 2031-07" in cdrs.stderr


def test_a_bad_month_is_refused_with_the_expected_form() -> None:
    run = subprocess.run(
        [*SMSGW, "reconcile", "--month", "2031-13"], capture_output=True, text=True
    )
    assert run.returncode == 2 and "YYYY-MM" in run.stderr
