"""Portability files: rows streamed into a table, bad rows refused whole by line."""

from pathlib import Path

import pytest

from engine.numbers import PortabilityFileError, read_delta_file, read_ported_file
from engine.numbers.files import REPORTED, read_delta, read_ported


def written(tmp_path: Path, text: str, name: str = "ported.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def test_a_full_file_with_a_header_plus_signs_crlf_and_blank_lines(tmp_path: Path) -> None:
    path = written(
        tmp_path,
        "number,operator\r\n+33612345678,20810\r\n\r\n33612345679,20801\r\n447700900123,23410",
    )
    table = read_ported_file(path)
    assert dict(table.items()) == {
        "33612345678": "20810",
        "33612345679": "20801",
        "447700900123": "23410",
    }


def test_a_byte_order_mark_and_an_empty_file(tmp_path: Path) -> None:
    assert (
        len(read_ported_file(written(tmp_path, "\ufeffnumber,operator\n33612345678,20810\n"))) == 1
    )
    assert len(read_ported_file(written(tmp_path, ""))) == 0
    assert len(read_ported_file(written(tmp_path, "number,operator\n"))) == 0


def test_bad_rows_refuse_the_file_each_named_by_line(tmp_path: Path) -> None:
    path = written(
        tmp_path,
        "number,operator\n"
        "33612345678,20810\n"
        "0612345678,20810\n"
        "33612345679,2081\n"
        "33612345670\n"
        "33612345671,20810,x\n"
        "33612345672,\n"
        "3361234567\xe9,20810\n"
        "33612345673,20801\n",
    )
    with pytest.raises(PortabilityFileError) as caught:
        read_ported_file(path)
    assert caught.value.problems == [
        (3, "number '0612345678' is not international: 1 to 15 digits, no leading 0"),
        (4, "operator '2081' is not an MCC+MNC (5 or 6 digits)"),
        (5, "expected `number,operator`, found 1 field(s) in '33612345670'"),
        (6, "expected `number,operator`, found 3 field(s) in '33612345671,20810,x'"),
        (7, "operator '' is not an MCC+MNC (5 or 6 digits)"),
        (8, "number '3361234567é' is not international: 1 to 15 digits, no leading 0"),
    ]
    message = str(caught.value)
    assert message.startswith(f"{path}: refused, nothing changed: 6 problem(s)\n")
    assert f"{path}:4: operator '2081'" in message


def test_bytes_that_are_not_utf8_are_a_bad_row_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"33612345678,20810\n3361234567\xff,20810\n")
    with pytest.raises(PortabilityFileError) as caught:
        read_ported_file(path)
    assert [line for line, _ in caught.value.problems] == [2]


def test_past_the_reported_rows_the_others_are_counted() -> None:
    lines = [f"x{n},20810\n" for n in range(REPORTED + 5)]
    with pytest.raises(PortabilityFileError) as caught:
        read_ported(lines, "big.csv")
    assert len(caught.value.problems) == REPORTED
    assert str(caught.value).endswith("big.csv: ... and 5 more")
    assert "25 problem(s)" in str(caught.value)


def test_bad_rows_are_found_in_every_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("engine.numbers.files.BATCH_LINES", 4)
    lines = [f"3361234{n:04d},20810\n" for n in range(10)]
    lines[6] = "bad\n"
    with pytest.raises(PortabilityFileError) as caught:
        read_ported(["number,operator\n", *lines], "f")
    assert [line for line, _ in caught.value.problems] == [8]
    assert len(read_ported([lines[0], *lines[7:]], "f")) == 4


def test_a_number_listed_twice_is_named_with_both_lines(tmp_path: Path) -> None:
    path = written(
        tmp_path,
        "33612345678,20810\n33612345679,20801\n33612345678,20801\n33612345679,20801\n",
    )
    with pytest.raises(PortabilityFileError) as caught:
        read_ported_file(path)
    assert caught.value.problems == [
        (3, "33612345678 is listed on line 1 already"),
        (4, "33612345679 is listed on line 2 already"),
    ]
    assert caught.value.repeated == (33612345678, 33612345679)


def test_a_number_listed_twice_without_a_file_to_read_again() -> None:
    with pytest.raises(PortabilityFileError) as caught:
        read_ported(["33612345678,20810\n", "33612345678,20810\n"], "stream")
    assert caught.value.problems == [(0, "33612345678 is listed more than once")]


def test_a_delta_adds_changes_and_removes_the_last_row_winning(tmp_path: Path) -> None:
    path = written(
        tmp_path,
        "number,operator\n33612345678,20810\n+33612345679,\n33612345678,20815\n",
        "delta.csv",
    )
    assert read_delta_file(path) == {"33612345678": "20815", "33612345679": ""}


def test_a_delta_with_a_bad_row_is_refused_by_line() -> None:
    with pytest.raises(PortabilityFileError) as caught:
        read_delta(["33612345678,20810\n", "33612345679,abc\n"], "delta.csv")
    assert caught.value.problems == [
        (2, "operator 'abc' is not an MCC+MNC (5 or 6 digits), nor empty to remove")
    ]


def test_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_ported_file(tmp_path / "absent.csv")
