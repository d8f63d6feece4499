"""The sync simulation's plots (PNG, headless): each follower's time error against
time, and its TDEV against tau."""

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt         # noqa: E402
import numpy as np                      # noqa: E402

__all__ = ["time_error", "tdev"]

_POINTS = 4000          # drawn per follower (the series is every cycle)


def time_error(followers, path):
    fig, ax = plt.subplots(figsize=(8, 4))
    for f in followers:
        t, error, locked = f["series"]
        step = max(1, len(t) // _POINTS)
        x = (t[::step] - t[0]) * 1e-6
        ax.plot(x, error[::step] / 1000, lw=0.8, label=f"node {f['node']} ({f['ppm']:+g} ppm)")
        if f["lock_time_s"] is not None:
            ax.axvline(f["lock_time_s"] * 1e6, ls=":", lw=0.8, color=ax.lines[-1].get_color())
    ax.set_xlabel("time (us)")
    ax.set_ylabel("time error against the leader (ns)")
    ax.set_title("follower time less the leader's true time (dotted: lock)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def tdev(followers, path):
    fig, ax = plt.subplots(figsize=(6, 4))
    for f in followers:
        if f["tdev"]:
            taus, dev = np.array(f["tdev"]).T
            ax.loglog(taus, dev * 1e12, "o-", ms=3, label=f"node {f['node']}")
    ax.set_xlabel("tau (s)")
    ax.set_ylabel("TDEV (ps)")
    ax.set_title("time deviation of the time error, once locked")
    ax.grid(True, which="both", alpha=0.3)
    if ax.lines:
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no follower locked", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
