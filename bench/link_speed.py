"""How fast the simulated link runs: attempts per second with the herald model,
with the station's gateware in Verilator, and with all three boards in the
co-simulation (cycles per second per board, at 1 km of fibre)."""

import time
from dataclasses import replace

from qnu.sim.cosim import run_cosim
from qnu.sim.link import run_link
from qnu.sim.link_config import link_from_dict, load_link


def rate(label, count, run):
    t = time.perf_counter()
    results = run()
    dt = time.perf_counter() - t
    print(f"{label}: {count / dt:,.0f} attempts/s ({count} attempts in {dt:.1f} s; "
          f"success {results['p_success_measured']:.4f} measured, {results['p_success_analytic']:.4f} analytic)")
    return results, dt


def main():
    demo = load_link("examples/link.toml")
    model = replace(demo, count=200_000)
    rate("link, herald model", model.count, lambda: run_link(model, backend="model")[0])
    station = replace(demo, count=20_000)
    rate("link, station gateware (Verilator)", station.count, lambda: run_link(station, backend="verilator")[0])
    cosim = link_from_dict({"attempts": {"period": "10us", "count": 300}, "fibre": {"length_a": "1km", "length_b": "1km"},
                            "collection": {"efficiency_a": 0.4, "efficiency_b": 0.4}, "emitter": {"alpha": 0.3}})
    holder = {}

    def run():
        results, _, co = run_cosim(cosim)
        holder["co"] = co
        return results
    results, dt = rate("link, three boards co-simulated (Verilator, 1 km)", cosim.count, run)
    co = holder["co"]
    print(f"co-simulation: {co.cycle / dt:,.0f} cycles/s per board over the whole run (setup included), "
          f"chunks of {co.chunk} cycles (lookahead {co.lookahead})")
    print(f"herald latency: {results['herald_latency_cycles']} cycles = {results['herald_latency_ns']:.0f} ns "
          "at the station's 100 MHz")


if __name__ == "__main__":
    main()
