"""``qnu sweep``: a grid of ``qnu link`` or ``qnu sync sim`` points on Dask (docs/sweep.md).

    qnu sweep --config examples/sweep.toml --output build/sweep                   # a LocalCluster
    qnu sweep --config examples/sweep.toml --scheduler tcp://HOST:8786 --output build/sweep
"""

import sys

__all__ = ["SUBCOMMANDS"]


def _sweep(args):
    from tqdm import tqdm
    from qnu.sim.sweep import load_sweep, run_sweep, write_table
    try:
        sweep = load_sweep(args.config)
    except (OSError, ValueError) as e:
        sys.exit(f"qnu sweep: error: {e}")
    where = "serially" if args.serial else f"on {args.scheduler}" if args.scheduler else \
        f"on a local cluster of {args.workers} worker processes"
    print(f"{sweep.name}: {len(sweep.points)} {sweep.kind} points, {where}")
    with tqdm(total=len(sweep.points), unit="point", desc="sweep", disable=args.quiet) as bar:
        rows = run_sweep(sweep, scheduler=args.scheduler, workers=args.workers, serial=args.serial,
                         progress=lambda done, total: bar.update(done - bar.n))
    paths = write_table(sweep, rows, args.output)
    failed = sorted({r["point"] for r in rows if r["status"] != "ok"})
    for point in failed:
        row = next(r for r in rows if r["point"] == point)
        values = ", ".join(f"{k}={row[k]}" for k in sweep.grid)
        print(f"point {point} ({values}) failed: {row['error']}")
    print(f"{len(sweep.points) - len(failed)} of {len(sweep.points)} points done; wrote "
          + ", ".join(str(p) for p in paths))


def _add_sweep(sub):
    p = sub.add_parser("sweep", help="run a grid of link or sync simulations on Dask",
                       description="Runs every point of the sweep file's [grid] (a `qnu link` or a `qnu sync "
                                   "sim`), each as a Dask job, and gathers one table (results.csv, results.json) "
                                   "and a plot. A point that fails is reported and the others go on.")
    p.add_argument("--config", required=True, help="a sweep file (TOML; examples/sweep.toml)")
    p.add_argument("--output", required=True, metavar="DIR")
    p.add_argument("--scheduler", metavar="tcp://HOST:8786", help="an existing Dask cluster's scheduler "
                   "(default: a LocalCluster on this machine)")
    p.add_argument("--workers", type=int, default=2, help="the LocalCluster's worker processes (default 2)")
    p.add_argument("--serial", action="store_true", help="no Dask: the points one after another, here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_sweep)


SUBCOMMANDS = [_add_sweep]
