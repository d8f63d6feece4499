"""The link's plots (PNG, headless)."""

from dataclasses import replace

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt         # noqa: E402
import numpy as np                      # noqa: E402


__all__ = ["click_histogram", "window_sweep"]


def click_histogram(link, clicks, path):
    """Click times after the attempt start, per detector, with the windows shaded."""
    fig, ax = plt.subplots(figsize=(7, 4))
    b = link.bin_ps
    end = (max(link.offsets) + link.window) * b * 1.5 + 20_000
    bins = np.arange(0, end, b) / 1000
    for d in (0, 1):
        t = clicks.time_ps[clicks.detector == d] / 1000
        ax.hist(t[(t >= 0) & (t < end / 1000)], bins=bins, histtype="step", label=f"detector {d}")
    for o in link.offsets:
        ax.axvspan((o - 1) * b / 1000, (o + link.window - 1) * b / 1000, alpha=0.2, color="green")  # (in ticks)
    ax.set_xlabel("click time after the attempt start (ns)")
    ax.set_ylabel("clicks")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("clicks; windows shaded")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def window_sweep(config, path, attempts=20_000, widths=None):
    """Success probability against the window width: the model backend, measured, and the closed form."""
    from .link import Link, run_link
    p = config.physics
    widths = widths or [max(1, round(p.window_ps * f)) for f in (0.25, 0.5, 1, 2, 4)]
    measured, sigma, analytic = [], [], []
    for w in widths:
        c = replace(config, physics=p.with_(window_ps=w, **({"late_window_offset_ps": max(
            p.late_window_offset_ps, p.window_offset_ps + w)} if p.rounds == 2 else {})), count=attempts)
        try:
            Link(c)
        except ValueError:              # (windows this wide overrun the period)
            continue
        results, _, _ = run_link(c, backend="model")
        measured.append(results["p_success_measured"])
        sigma.append(results["p_success_sigma"])
        analytic.append(results["p_success_analytic"])
    xs = np.array(widths[:len(measured)]) / 1000
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.errorbar(xs, measured, yerr=sigma, fmt="o", label=f"measured ({attempts} attempts each, model backend)")
    ax.plot(xs, analytic, "-", label="analytic")
    ax.set_xlabel("window width (ns)")
    ax.set_ylabel("success probability")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
