"""The ``qnu`` command line. Each subcommand is one small function.

Subcommands are registered by the ``add_parser(sub)`` functions listed in
:data:`SUBCOMMANDS`; adding one is adding a function to the list.
"""

import argparse
import sys

import qnu
from qnu.host import cli_bench, cli_board, cli_device, cli_link, cli_sweep, cli_sync
from qnu.host.errors import QnuError
from qnu.sim.serve import add_parser as _add_sim     # `qnu sim serve`: the virtual board

__all__ = ["main", "build_parser", "SUBCOMMANDS"]


def _demo(args):
    from qnu.sim.demo import run_demo
    run_demo(cycles=args.cycles, samples_per_cycle=args.samples_per_cycle, seed=args.seed)


def _add_demo(sub):
    demo = sub.add_parser("demo", help="tag a few simulated sources with the timing core in simulation")
    demo.add_argument("--cycles", type=int, default=20_000, help="system cycles to simulate")
    demo.add_argument("--samples-per-cycle", type=int, choices=(1, 2, 4, 8), default=4)
    demo.add_argument("--seed", type=int, default=1)
    demo.set_defaults(func=_demo)


def _version(args):
    print(f"qnu {qnu.__version__}")


def _add_version(sub):
    version = sub.add_parser("version", help="print the version")
    version.set_defaults(func=_version)


SUBCOMMANDS = [_add_demo, _add_version, *cli_device.SUBCOMMANDS, *cli_board.SUBCOMMANDS, *cli_link.SUBCOMMANDS,
               *cli_bench.SUBCOMMANDS, *cli_sync.SUBCOMMANDS, *cli_sweep.SUBCOMMANDS, _add_sim]


def build_parser(subcommands=None):
    parser = argparse.ArgumentParser(prog="qnu", description="QNU: the timing layer of a quantum network node")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add_parser in SUBCOMMANDS if subcommands is None else subcommands:
        add_parser(sub)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except KeyboardInterrupt:
        sys.exit(130)
    except QnuError as e:
        print(f"qnu {args.command}: error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
