import subprocess
import sys

from smsgw.cli import main


def test_version_flag_prints_version(capsys) -> None:
    try:
        main(["--version"])
    except SystemExit as exit_:
        assert exit_.code == 0
    assert capsys.readouterr().out.startswith("smsgw ")


def test_console_script_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "smsgw.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.startswith("smsgw 0.")
