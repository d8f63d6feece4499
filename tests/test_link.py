"""The simulated entanglement link: the gateware station and the herald model
decide alike, and what they measure agrees with the closed forms."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from qnu.host.cli import main
from qnu.sim.link import run_link, Link
from qnu.sim.link_config import link_from_dict, load_link

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
BUSY = {"collection": {"efficiency_a": 0.5, "efficiency_b": 0.4}, "detector": {"dark_count_rate": "3e5Hz"},
        "attempts": {"period": "5us", "count": 1500}}   # (the UART carries a record per ~20 us)


@pytest.mark.parametrize("scheme", ["single-click", "barrett-kok"])
def test_the_gateware_station_decides_every_attempt_as_the_herald_model_does(scheme):
    herald = {"scheme": scheme, "window": "25ns", "window_offset": "20ns"}
    if scheme == "barrett-kok":
        herald["late_window_offset"] = "200ns"
    config = link_from_dict({**BUSY, "seed": 4, "herald": herald, "emitter": {"alpha": 0.3}})
    model, _, model_outcomes = run_link(config, backend="model")
    gateware, _, gateware_outcomes = run_link(config, backend="verilator")
    assert np.array_equal(model_outcomes, gateware_outcomes)
    assert gateware["backend"] == "verilator" and gateware["outcomes"] == model["outcomes"]
    assert min(gateware["outcomes"].values()) > 0          # every outcome happened: the comparison bites
    assert gateware["herald_latency_cycles"] == 2


def z(results, key):
    sigma = results[f"{key}_sigma"]
    measured = results[f"{key}_measured"]
    return (measured - results[f"{key}_analytic"]) / sigma if sigma else 0.0


def test_the_demo_link_agrees_with_the_analytic_rates():
    config = load_link(EXAMPLES / "link.toml")
    results, _, _ = run_link(config, backend="model")
    assert abs(z(results, "p_success")) < 4
    assert results["p_success_measured"] * config.count > 500


def grid():
    for alpha, efficiency, dark, window in itertools.product((0.05, 0.3), (0.1, 0.5), ("20Hz", "1e5Hz"),
                                                              ("10ns", "40ns")):
        yield {"seed": 7, "emitter": {"alpha": alpha}, "collection": {"efficiency_a": efficiency,
                                                                     "efficiency_b": efficiency},
               "detector": {"dark_count_rate": dark, "dead_time": "45ns"}, "herald": {"window": window}}


def check_grid(count):
    for raw in grid():
        raw["attempts"] = {"count": count}
        results, _, _ = run_link(link_from_dict(raw), backend="model")
        assert abs(z(results, "p_success")) < 4, (raw, results)
        if results["false_herald_fraction_analytic"] > 0.01:
            assert abs(z(results, "false_herald_fraction")) < 4, (raw, results)


def test_the_link_agrees_with_the_analytic_rates_over_a_grid():
    check_grid(20_000)


@pytest.mark.slow
def test_the_link_agrees_with_the_analytic_rates_over_a_grid_at_length():
    check_grid(200_000)


def test_qnu_link_writes_results_and_plots(tmp_path, capsys):
    main(["link", "--config", str(EXAMPLES / "link_barrett_kok.toml"), "--output", str(tmp_path),
          "--backend", "model", "--count", "20000", "--sweep-attempts", "2000", "--quiet"])
    results = json.loads((tmp_path / "results.json").read_text())
    for key in ("parameters", "backend", "scheme", "attempts", "outcomes", "eta_a", "eta_b", "p_dark_window",
                "p_success_measured", "p_success_analytic", "p_success_sigma", "false_herald_fraction_measured",
                "false_herald_fraction_analytic", "herald_latency_cycles", "herald_latency_ns"):
        assert key in results
    assert results["scheme"] == "barrett-kok" and results["parameters"]["seed"] == 2
    assert set(results["outcomes"]) == {"fail", "psi_plus", "psi_minus", "reject"}
    assert sum(results["outcomes"].values()) == 20000
    for png in ("click_times.png", "window_sweep.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "success probability" in capsys.readouterr().out


@pytest.mark.parametrize("raw, message", [
    ({"herald": {"windw": "30ns"}}, "unknown key"),
    ({"detector": {"jitter": "50 parsecs"}}, "bad time"),
    ({"herald": {"scheme": "tea-leaves"}}, "unknown scheme"),
    ({"herald": {"window": "3us"}}, "beyond the period"),
])
def test_bad_link_files_say_what_is_wrong(raw, message):
    with pytest.raises(ValueError, match=message):
        Link(link_from_dict(raw))
