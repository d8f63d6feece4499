"""`qnu sweep`: a grid of link or sync points on a real Dask cluster (sim/sweep.py).
The reference is the same sweep run serially in this process with the same seeds."""

import csv
import json

import pytest

from qnu.sim.sweep import Sweep, load_sweep, run_sweep

LINK_BASE = {"attempts.count": 4000, "attempts.period": "2us", "herald.window": "30ns",
             "herald.window_offset": "20ns", "fibre.length_b": "10m"}


def link_sweep(grid):
    return Sweep(kind="link", backend="model", base=LINK_BASE, grid=grid)


def test_a_sweep_on_a_local_cluster_of_two_worker_processes_gives_the_serial_table():
    sweep = link_sweep({"fibre.length_a": ["10m", "1km"], "emitter.alpha": [0.05, 0.2], "seed": [1, 2]})
    serial = run_sweep(sweep, serial=True)
    assert [r["point"] for r in serial] == list(range(8)) and all(r["status"] == "ok" for r in serial)
    # (the measured rates follow the model: each point within 4 sigma of its analytic value)
    assert all(abs(r["p_success_z"]) < 4 for r in serial)
    assert len({r["p_success_measured"] for r in serial}) > 4        # the seeds and the grid matter
    assert run_sweep(sweep, workers=2) == serial


def test_a_point_that_fails_is_reported_with_its_parameters_and_the_sweep_goes_on(tmp_path, capsys):
    from qnu.host.cli import main
    config = tmp_path / "sweep.toml"
    config.write_text('kind = "link"\nbackend = "model"\n[base]\n"attempts.count" = 2000\n'
                      '[grid]\n"emitter.alpha" = [0.1, 1.5, 0.2]\n')
    main(["sweep", "--config", str(config), "--output", str(tmp_path / "out"), "--workers", "2", "--quiet"])
    out = capsys.readouterr().out
    assert "point 1 (emitter.alpha=1.5) failed: ValueError" in out and "2 of 3 points done" in out
    rows = json.loads((tmp_path / "out" / "results.json").read_text())["rows"]
    assert [r["status"] for r in rows] == ["ok", "failed", "ok"] and "alpha" in rows[1]["error"]
    with open(tmp_path / "out" / "results.csv") as f:
        table = list(csv.DictReader(f))
    assert [r["emitter.alpha"] for r in table] == ["0.1", "1.5", "0.2"]
    assert (tmp_path / "out" / "sweep.png").stat().st_size > 1000


def test_qnu_sweep_runs_on_a_cluster_given_by_its_scheduler_address(tmp_path, capsys):
    from dask.distributed import LocalCluster
    from qnu.host.cli import main
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        main(["sweep", "--config", "examples/sweep.toml", "--output", str(tmp_path), "--quiet",
              "--scheduler", cluster.scheduler_address])
    out = capsys.readouterr().out
    assert f"on {cluster.scheduler_address}" in out and "8 of 8 points done" in out
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert rows == run_sweep(load_sweep("examples/sweep.toml"), serial=True)


def test_a_sync_point_gives_a_row_per_follower():
    sweep = Sweep(kind="sync", backend="verilator", base={"nodes": 2, "length": "20m", "seconds": "30us"},
                  grid={"ppm": ["0,+30"]})
    row, = run_sweep(sweep, serial=True)
    assert row["status"] == "ok", row.get("error")
    assert row["node"] == 1 and row["node_ppm"] == 30.0 and row["ppm"] == "0,+30" and "time_error_rms_ps" in row


@pytest.mark.parametrize("text, message", [
    ('kind = "scan"\n[grid]\nseed = [1]\n', "kind must be"),
    ('kind = "link"\n', "needs a \\[grid\\]"),
    ('kind = "link"\n[grid]\nseed = []\n', "non-empty list"),
    ('kind = "link"\nbackend = "fpga"\n[grid]\nseed = [1]\n', "backend"),
    ('kind = "link"\ncolour = 1\n[grid]\nseed = [1]\n', "unknown keys colour"),
])
def test_bad_sweep_files_are_refused(tmp_path, text, message):
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_sweep(path)
