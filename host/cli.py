"""The ``qnu`` command line. Each subcommand is one small function."""

import argparse
import sys

import qnu

__all__ = ["main"]


def _demo(args):
    from qnu.sim.demo import run_demo
    run_demo(cycles=args.cycles, samples_per_cycle=args.samples_per_cycle, seed=args.seed)


def _version(args):
    print(f"qnu {qnu.__version__}")


def build_parser():
    parser = argparse.ArgumentParser(prog="qnu", description="QNU: the timing layer of a quantum network node")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser("demo", help="tag a few simulated sources with the timing core in simulation")
    demo.add_argument("--cycles", type=int, default=20_000, help="system cycles to simulate")
    demo.add_argument("--samples-per-cycle", type=int, choices=(1, 2, 4, 8), default=4)
    demo.add_argument("--seed", type=int, default=1)
    demo.set_defaults(func=_demo)

    version = sub.add_parser("version", help="print the version")
    version.set_defaults(func=_version)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
