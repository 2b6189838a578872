"""How a benchmark prints its report: one JSON object, or one aligned line per figure."""

from __future__ import annotations

import json
from collections.abc import Mapping


def print_report(report: Mapping[str, object], as_json: bool) -> None:
    if as_json:
        print(json.dumps(report))
        return
    width = max(map(len, report), default=0)
    for name, value in report.items():
        print(f"{name:>{width}}  {value}")
