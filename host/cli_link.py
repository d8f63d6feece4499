"""``qnu link``: run a simulated entanglement link and print what it measured against the analytic values."""

from dataclasses import replace

from qnu.host.errors import QnuError

__all__ = ["SUBCOMMANDS", "format_table"]


def format_table(r):
    z = (r["p_success_measured"] - r["p_success_analytic"]) / r["p_success_sigma"] if r["p_success_sigma"] else 0
    o = r["outcomes"]
    who = "herald model" if r["backend"] != "verilator" else \
        "gateware of all three boards (Verilator co-simulation)" if "co_simulation" in r else "station's gateware (Verilator)"
    lines = [f"link: {r['scheme']}, {r['attempts']} attempts, herald decided by the {who}",
             f"  {'fail':<10} {o['fail']:>9}", f"  {'psi+':<10} {o['psi_plus']:>9}",
             f"  {'psi-':<10} {o['psi_minus']:>9}", f"  {'reject':<10} {o['reject']:>9}",
             f"  success probability  {r['p_success_measured']:.5f} ± {r['p_success_sigma']:.5f} measured, "
             f"{r['p_success_analytic']:.5f} analytic (z = {z:+.2f})",
             f"  false heralds        {r['false_herald_fraction_measured']:.4f} ± "
             f"{r['false_herald_fraction_sigma']:.4f} of successes measured, "
             f"{r['false_herald_fraction_analytic']:.4f} analytic (dark counts and noise photons)",
             f"  detection per photon eta_a {r['eta_a']:.4f}, eta_b {r['eta_b']:.4f}; "
             f"dark count per window {r['p_dark_window']:.2e}",
             f"  herald latency       {r['herald_latency_cycles']} cycles = {r['herald_latency_ns']:.1f} ns "
             f"after the last window closes"]
    return "\n".join(lines)


def _link(args):
    from tqdm import tqdm
    from qnu.sim.link import run_link, write_results
    from qnu.sim.link_config import load_link
    try:
        config = load_link(args.config)
        if args.count is not None:
            config = replace(config, count=args.count)
    except (OSError, ValueError) as e:
        raise QnuError(f"{args.config}: {e}") from None
    with tqdm(total=config.count, unit="attempt", desc="attempts", disable=args.quiet) as bar:
        def progress(done):
            bar.update(max(0, done - bar.n))
        try:
            if args.backend == "cosim":
                from qnu.sim.cosim import run_cosim
                results, _, co = run_cosim(config, progress=progress, stop_on_herald=args.stop_on_herald)
                clicks = co.clicks_view(results["attempts"])
            else:
                results, clicks, _ = run_link(config, backend=args.backend, progress=progress)
        except (ValueError, RuntimeError) as e:
            raise QnuError(str(e)) from None
        progress(config.count)
    out = write_results(results, clicks, config, args.output, sweep_attempts=args.sweep_attempts)
    print(format_table(results))
    print(f"  wrote {out / 'results.json'}, {out / 'click_times.png'}, {out / 'window_sweep.png'}")


def _add_link(sub):
    p = sub.add_parser("link", help="simulate a heralded entanglement link (physics + the herald gateware)")
    p.add_argument("--config", required=True, help="a link file (TOML; examples/link.toml)")
    p.add_argument("--output", required=True, help="directory for results.json and the plots")
    p.add_argument("--backend", choices=("verilator", "cosim", "model"), default="verilator",
                   help="verilator: the station's herald gateware decides (the nodes are the physics model); "
                        "cosim: all three boards' gateware, nodes' attempt loops and cables included (links of "
                        "100 m or more); model: the herald model, for sweeps")
    p.add_argument("--stop-on-herald", action="store_true",
                   help="cosim: a herald, back by cable, stops both nodes' attempt loops")
    p.add_argument("--count", type=int, help="attempts (overrides the file)")
    p.add_argument("--sweep-attempts", type=int, default=20_000, help="attempts per point of the window sweep plot")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_link)


SUBCOMMANDS = [_add_link]
