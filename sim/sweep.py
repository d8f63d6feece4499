"""Sweeps: a grid of ``qnu link`` or ``qnu sync sim`` points run on Dask
(``qnu sweep``, docs/sweep.md).

A sweep file (TOML) names the kind of point, the parameters every point
shares and the grid::

    kind = "link"                  # or "sync"
    backend = "model"              # link: model, verilator or cosim (sync: always verilator)
    plot = "p_success_measured"    # the column plotted against the point

    [base]                         # link: a link file's tables; sync: qnu sync sim's options
    attempts.count = 20000

    [grid]                         # every combination of these, keys dotted as in [base]
    "fibre.length_a" = ["10m", "1km"]
    seed = [1, 2]

Each point is one job: a Dask ``LocalCluster`` of worker processes by default,
or the cluster whose scheduler ``--scheduler`` names. A point that fails is a
row with ``status = "failed"`` and its error; the others go on. The table is
in grid order whatever order the points finish in, so a sweep gives the same
table on any cluster as run serially, point by point, with the same seeds.
"""

import itertools
import json
import tomllib
import traceback
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Sweep", "load_sweep", "run_point", "run_sweep", "write_table", "KINDS"]

KINDS = ("link", "sync")
LINK_BACKENDS = ("model", "verilator", "cosim")
_DEFAULT_PLOT = {"link": "p_success_measured", "sync": "time_error_rms_ps"}


@dataclass(frozen=True)
class Sweep:
    kind: str
    base: dict
    grid: dict                      # dotted key -> values
    backend: str = "model"
    plot: str = ""
    name: str = "sweep"
    points: list = field(default_factory=list)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.kind == "link" and self.backend not in LINK_BACKENDS:
            raise ValueError(f"a link point's backend is one of {', '.join(LINK_BACKENDS)}, not {self.backend!r}")
        for key, values in self.grid.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"grid key {key!r} needs a non-empty list of values")
        keys = list(self.grid)
        object.__setattr__(self, "points", [dict(zip(keys, combo))
                                            for combo in itertools.product(*(self.grid[k] for k in keys))])
        object.__setattr__(self, "plot", self.plot or _DEFAULT_PLOT[self.kind])


def load_sweep(path):
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: not a TOML file ({e})") from None
    unknown = set(raw) - {"kind", "backend", "plot", "base", "grid", "name"}
    if unknown:
        raise ValueError(f"{path}: unknown keys {', '.join(sorted(unknown))}")
    if "grid" not in raw:
        raise ValueError(f"{path}: a sweep needs a [grid]")
    return Sweep(kind=raw.get("kind", "link"), base=_flatten(raw.get("base", {})), grid=_flatten(raw["grid"]),
                 backend=raw.get("backend", "model" if raw.get("kind", "link") == "link" else "verilator"),
                 plot=raw.get("plot", ""), name=raw.get("name", path.stem))


def _flatten(table, prefix=""):
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _nest(flat):
    out = {}
    for key, value in flat.items():
        *path, last = key.split(".")
        table = out
        for part in path:
            table = table.setdefault(part, {})
        table[last] = value
    return out


def run_point(kind, backend, base, values):
    """One point's rows (a link: one; a sync chain: one per follower). Raises on failure."""
    params = {**base, **values}
    if kind == "link":
        from .link import run_link
        from .link_config import link_from_dict
        config = link_from_dict(_nest(params))
        if backend == "cosim":
            from .cosim import run_cosim
            results, _, _ = run_cosim(config)
        else:
            results, _, _ = run_link(config, backend=backend)
        z = (results["p_success_measured"] - results["p_success_analytic"]) / results["p_success_sigma"] \
            if results["p_success_sigma"] else 0.0
        keep = ("attempts", "p_success_measured", "p_success_analytic", "p_success_sigma",
                "false_herald_fraction_measured", "false_herald_fraction_analytic")
        return [{**{k: results[k] for k in keep}, "p_success_z": z, **results["outcomes"]}]
    from .sync_cosim import run_sync_sim, sync_config_from_dict
    results = run_sync_sim(sync_config_from_dict(params))
    keep = ("lock_time_s", "time_error_mean_ps", "time_error_rms_ps", "pps_error_mean_ps", "pps_error_rms_ps")
    return [{"node": f["node"], "node_ppm": f["ppm"], **{k: f[k] for k in keep}} for f in results["followers"]]


def _job(kind, backend, base, index, values):
    """A point as a job: its rows, or a failed row naming why (a worker never raises)."""
    try:
        rows = run_point(kind, backend, base, values)
        return [{"point": index, **values, "status": "ok", **{k: v for k, v in row.items() if k not in values}}
                for row in rows]
    except Exception as e:
        return [{"point": index, **values, "status": "failed", "error": f"{type(e).__name__}: {e}",
                 "traceback": traceback.format_exc(limit=4)}]


def run_sweep(sweep, *, scheduler=None, workers=2, serial=False, progress=None):
    """Every point's rows, in grid order. ``serial``: in this process, one after another;
    else on Dask (``scheduler``'s cluster, or a LocalCluster of ``workers`` processes)."""
    progress = progress or (lambda done, total: None)
    total = len(sweep.points)
    results = [None] * total
    jobs = [(sweep.kind, sweep.backend, sweep.base, i, values) for i, values in enumerate(sweep.points)]
    if serial:
        for i, job in enumerate(jobs):
            results[i] = _job(*job)
            progress(i + 1, total)
    else:
        from dask.distributed import Client, LocalCluster, as_completed
        cluster = None
        if scheduler is None:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        try:
            with Client(scheduler or cluster) as client:
                futures = {client.submit(_job, *job, pure=False): job[3] for job in jobs}
                for done, future in enumerate(as_completed(futures), 1):
                    results[futures[future]] = future.result()
                    progress(done, total)
        finally:
            if cluster is not None:
                cluster.close()
    return [row for rows in results for row in rows]


def write_table(sweep, rows, out_dir):
    """results.json, results.csv and the plot; their paths."""
    import csv
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"name": sweep.name, "kind": sweep.kind, "backend": sweep.backend,
                                                  "base": sweep.base, "grid": sweep.grid, "rows": rows},
                                                 indent=2) + "\n")
    columns = []
    for row in rows:
        columns += [k for k in row if k not in columns and k != "traceback"]
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    _plot(sweep, rows, out / "sweep.png")
    return out / "results.json", out / "results.csv", out / "sweep.png"


def _plot(sweep, rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(rows)), 4))
    ok = [r for r in rows if r["status"] == "ok" and r.get(sweep.plot) is not None]
    labels = [", ".join(f"{k}={r[k]}" for k in sweep.grid) + (f" node {r['node']}" if "node" in r else "")
              for r in ok]
    ax.plot(range(len(ok)), [r[sweep.plot] for r in ok], "o")
    if sweep.plot == "p_success_measured":
        ax.errorbar(range(len(ok)), [r["p_success_analytic"] for r in ok], [r["p_success_sigma"] for r in ok],
                    fmt="_", color="k", label="analytic ± sigma")
        ax.legend()
    ax.set_xticks(range(len(ok)), labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel(sweep.plot)
    failed = len({r["point"] for r in rows if r["status"] != "ok"})
    ax.set_title(f"{sweep.name}: {len(ok)} rows" + (f", {failed} point(s) failed" if failed else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
