import subprocess
import sys

from qnu.host.cli import main


def test_demo_runs_and_matches_the_model(capsys):
    main(["demo", "--cycles", "3000"])
    out = capsys.readouterr().out
    assert "match the reference model, none lost" in out
    assert "laser sync" in out and "first 12 tags" in out


def test_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "qnu.host.cli", "version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("qnu ")


def test_unknown_command_is_an_error(capsys):
    try:
        main(["frobnicate"])
    except SystemExit as e:
        assert e.code == 2
    assert "invalid choice" in capsys.readouterr().err
