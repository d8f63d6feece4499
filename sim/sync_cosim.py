"""Node-to-node sync in co-simulation (``qnu sync sim``, docs/sync.md): a chain of
nodes, each the real Node gateware in Verilator with its servo, each clocked by
its own free-running oscillator, linked by fibres of given length and asymmetry.

Physical time is the co-simulation's own: board ``i``'s cycle ``c`` starts at
``P_i[c]`` ps (``sim.oscillator``) and its ``N`` samples split the cycle evenly.
An output edge at tick ``c*N + k`` leaves at ``P_i[c] + k * (P_i[c+1] - P_i[c]) / N``,
travels its fibre, and lands on the sample of the target board whose span
holds its arrival. So no board's clock is the reference, and a follower 50
ppm fast really runs 50 ppm more cycles per second.

The boards run in rounds, each up to a *frontier* in physical time: a board
runs every cycle that starts before the earliest moment an edge not yet
reported by a board feeding it could arrive (that board's reported cycles'
end, plus the fibre). The word of the cycle it then waits at is sent again
if an edge lands in it later. A round goes about a fibre's delay less a
cycle, so the shortest link sets the pace. The result does not depend on
how far a round goes below that (a test runs two ways).

The nodes boot configured (``Node(register_resets=...)``, the values
``dev.sync.configure`` would write): the leader's down port, each follower's
up port following it, a middle node's down port, and on every node output
``PPS_OUT`` carrying the timebase's pulse. Nothing then depends on how fast
the host talks: a run is a function of its parameters and seed.

Each board's harness writes its time every cycle (the ``probe`` ports): the
follower's time, ticks plus the servo's fraction of a tick, is compared with
the leader's true time at the same physical instant (the leader's ticks
interpolated between its cycle starts).
"""

import math
import os
import tempfile
import threading
from dataclasses import dataclass, field, asdict

import numpy as np

from qnu.sync import ServoState, DEFAULT_KP_SHIFT, DEFAULT_KI_SHIFT, DEFAULT_GEAR
from .cosim import CoBoard
from .oscillator import Oscillator, OscillatorSpec
from .link_config import parse_length
from .physics.params import FIBRE_PS_PER_M
from .sync_witness import WITNESS_INPUTS, witness_registers, record_witness, witness_results, cable_ps

__all__ = ["SyncSimConfig", "SyncCosim", "run_sync_sim", "sync_config_from_dict", "parse_length"]

UP_OUT, UP_IN, DOWN_OUT, DOWN_IN, PPS_OUT = 0, 0, 1, 1, 2
_BLOCK = 1 << 16        # oscillator cycles generated at a time


@dataclass(frozen=True)
class SyncSimConfig:
    ppm: tuple = (0.0, 50.0, -80.0)         # each node's oscillator; node 0 leads
    lengths_m: tuple = (5.0, 2000.0)        # link k joins node k (down) and node k+1 (up)
    alpha: float = 0.0                      # the fibres' asymmetry: there = (1 + alpha) * back
    seconds: float = 1e-3                   # simulated time
    seed: int = 1
    interval_log2: int = None               # None: the longest link's round trip, at least 2**9 cycles
    kp_shift: int = DEFAULT_KP_SHIFT
    ki_shift: int = DEFAULT_KI_SHIFT
    gear: int = DEFAULT_GEAR                # once locked, a gear at a time: a loop 2**gear narrower
    lock_count: int = 8
    lock_threshold_ticks: float = 0.06      # the offsets' running average (150 ps at 2.5 ns ticks)
    # the pulse per period (a PPS, shortened for simulation). Each edge lands on its board's tick, and
    # the ticks' phase moves by period * (frequency offset) an edge: 10 us at 50 ppm is a fifth of a
    # tick, five phases over and over, whose mean is up to a tenth of a tick off. 10.1 us is not.
    pps_period_s: float = 10.1e-6
    clock_hz: int = 100_000_000
    samples_per_cycle: int = 4
    white_pm_ps: float = OscillatorSpec.white_pm_ps
    rw_fm: float = OscillatorSpec.rw_fm
    drift_per_s: float = OscillatorSpec.drift_per_s
    start_spread_s: float = 1e-6            # each node's power-up, uniform in this span
    pull: tuple = ()                        # (link, start_s, end_s): that link's fibres cut meanwhile
    round_limit_s: float = None             # a round goes at most this far (None: as far as it may)
    witness: bool = False                   # the middle node tags the leader's and the last node's PPS

    def __post_init__(self):
        if len(self.ppm) < 2:
            raise ValueError("a sync simulation needs a leader and at least one follower (--nodes 2 or more)")
        if len(self.lengths_m) != len(self.ppm) - 1:
            raise ValueError(f"{len(self.ppm)} nodes in a chain need {len(self.ppm) - 1} link lengths, "
                             f"not {len(self.lengths_m)}")
        for ppm in self.ppm:
            if not -100 <= ppm <= 100:
                raise ValueError(f"an oscillator's offset is -100 to +100 ppm here, not {ppm}")
        for length in self.lengths_m:
            if not 1 <= length <= 10_000:
                raise ValueError(f"a link is 1 m to 10 km, not {length} m")
        if not -0.01 < self.alpha < 0.01:
            raise ValueError(f"alpha is a fibre's asymmetry (about 2.5e-4), not {self.alpha}")
        if self.seconds <= 0:
            raise ValueError("the simulated time must be positive")
        if self.witness and len(self.ppm) < 3:
            raise ValueError("the witness is the middle node of a chain: it needs 3 nodes or more")
        if self.witness and self.seconds < 300e-6:
            raise ValueError("a witness run needs 300 us or more: the host reads the tags as it runs")
        if self.pull and not (0 <= self.pull[0] < len(self.lengths_m) and 0 <= self.pull[1] < self.pull[2]):
            raise ValueError(f"pull is (link, start_s, end_s) with start before end, not {self.pull}")

    @property
    def interval(self):
        """interval_log2, or the smallest (9 or more) whose interval holds the longest link's round trip:
        with a shorter one the servo acts on exchanges several intervals old and rings."""
        if self.interval_log2 is not None:
            return self.interval_log2
        round_trip = max(sum(self.link_delays_ps(k)) for k in range(len(self.lengths_m)))
        return max(9, math.ceil(math.log2(round_trip / self.period_ps)))

    @property
    def nodes(self):
        return len(self.ppm)

    @property
    def period_ps(self):
        return 1e12 / self.clock_hz

    @property
    def bin_ps(self):
        return self.period_ps / self.samples_per_cycle

    def link_delays_ps(self, k):
        """(there, back) of link ``k``: the follower's way to its leader, and the leader's to it."""
        round_trip = 2 * self.lengths_m[k] * FIBRE_PS_PER_M
        return round_trip * (1 + self.alpha) / (2 + self.alpha), round_trip / (2 + self.alpha)


def _list(value, parse):
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, (list, tuple)) else [value]
    return tuple(parse(x) for x in items)


_SIM_KEYS = {"nodes", "ppm", "length", "alpha", "seconds", "seed", "interval_log2", "kp_shift", "ki_shift", "gear",
             "lock_count", "lock_threshold_ps", "pull", "witness"}


def sync_config_from_dict(d):
    """A SyncSimConfig from ``qnu sync sim``'s options as a dict (a sweep point's):
    ``nodes``, ``ppm`` ("0,+50,-80"), ``length`` ("5m,2km"; one: every link),
    ``alpha``, ``seconds`` ("300us"), ``seed``, ``interval_log2``, ``kp_shift``,
    ``ki_shift``, ``gear``, ``lock_count``, ``lock_threshold_ps``, ``pull``
    ("LINK:START:END"), ``witness``."""
    from .sources import parse_time
    unknown = set(d) - _SIM_KEYS
    if unknown:
        raise ValueError(f"unknown sync sim options: {', '.join(sorted(unknown))}")
    nodes = int(d.get("nodes", 3))
    ppm = _list(d["ppm"], float) if "ppm" in d else (0.0,) * nodes
    if len(ppm) != nodes:
        raise ValueError(f"ppm gives {len(ppm)} offsets for {nodes} nodes")
    lengths = _list(d.get("length", "5m"), parse_length)
    if len(lengths) == 1:
        lengths *= nodes - 1
    seconds = d.get("seconds", "300us")
    seconds = parse_time(seconds) * 1e-12 if isinstance(seconds, str) else float(seconds)
    pull = ()
    if d.get("pull"):
        link, start, end = d["pull"].split(":")
        pull = (int(link), parse_time(start) * 1e-12, parse_time(end) * 1e-12)
    extra = {k: int(d[k]) for k in ("seed", "interval_log2", "kp_shift", "ki_shift", "gear", "lock_count") if k in d}
    if "lock_threshold_ps" in d:
        extra["lock_threshold_ticks"] = float(d["lock_threshold_ps"]) / SyncSimConfig().bin_ps
    return SyncSimConfig(ppm=ppm, lengths_m=lengths, alpha=float(d.get("alpha", 0.0)), seconds=seconds, pull=pull,
                         witness=bool(d.get("witness", False)), **extra)


@dataclass
class _Cable:
    source: int
    output: int
    target: int
    channel: int
    delay_ps: float
    link: int
    src_level: int = 0
    line_level: int = 0
    cut: bool = False


@dataclass
class _Board:
    co: CoBoard
    osc: Oscillator
    starts: np.ndarray = field(default_factory=lambda: np.empty(0))
    done: int = 0           # cycles before this one have run and reported their outputs (its word may change)

    def ensure(self, cycle):
        while len(self.starts) <= cycle + 1:
            self._grow()

    def cover(self, t_ps):
        while self.starts[-1] <= t_ps:
            self._grow()

    def _grow(self):
        self.starts = np.concatenate([self.starts, self.osc.next_cycles(_BLOCK)])

    def when(self, tick, n):
        """The physical time of fine tick ``tick`` (ps)."""
        c, k = divmod(tick, n)
        self.ensure(c + 1)
        return self.starts[c] + k * (self.starts[c + 1] - self.starts[c]) / n

    def tick_at(self, t_ps, n):
        """The fine tick whose sample span holds physical time ``t_ps`` (None before power-up)."""
        self.cover(t_ps)
        c = int(np.searchsorted(self.starts, t_ps, side="right")) - 1
        if c < 0:
            return None
        k = int((t_ps - self.starts[c]) * n // (self.starts[c + 1] - self.starts[c]))
        return c * n + min(k, n - 1)


def node_registers(cfg):
    """The registers every node boots with: both ports on, the servo following the up port,
    the pulse per period on PPS_OUT. The leader is the node whose up port has no peer (its
    servo hears nothing and stays free); the last node's down port has none either. One
    netlist for every node: one Verilator build."""
    from qnu.host.sync import sync_registers
    values = sync_registers(outputs=4, channels=4, bin_ps=cfg.bin_ps, interval_log2=cfg.interval,
                            kp_shift=cfg.kp_shift, ki_shift=cfg.ki_shift, gear=cfg.gear, lock_count=cfg.lock_count,
                            lock_threshold_ps=cfg.lock_threshold_ticks * cfg.bin_ps, alpha=cfg.alpha, up=(UP_OUT, UP_IN), follow=True, down=(DOWN_OUT, DOWN_IN))
    period = round(cfg.pps_period_s * 1e12 / cfg.bin_ps)
    values.update({f"out{PPS_OUT}_ctrl": 2, "pulse_period_lo": period & 0xFFFF_FFFF, "pulse_period_hi": period >> 32})
    values.update(witness_registers())      # (tagging on, cabled or not: a witness run shares the build)
    return values


class SyncCosim:
    """The chain's boards, their fibres and their oscillators, run round by round in a thread."""

    def __init__(self, cfg, *, workdir):
        from qnu.gateware.node import Node
        from qnu.regmap import Features
        self.cfg = cfg
        n = cfg.samples_per_cycle
        seeds = np.random.SeedSequence(cfg.seed).spawn(cfg.nodes + 1)
        spread = np.random.default_rng(seeds[-1]).uniform(0, cfg.start_spread_s * 1e12, cfg.nodes)
        self.probe_files = [os.path.join(workdir, f"node{i}.probe") for i in range(cfg.nodes)]
        self.boards = []
        for i in range(cfg.nodes):
            node = Node(channels=4, samples_per_cycle=n, clock_hz=cfg.clock_hz, uart_divisor=8, probe=True,
                        features=Features(outputs=4, sequencer=True, attempts=True, herald=True, sync=True),
                        register_resets=node_registers(cfg))
            co = CoBoard(f"node{i}", channels=4, samples_per_cycle=n, clock_hz=cfg.clock_hz, outputs=4, node=node,
                         probe_file=self.probe_files[i])
            spec = OscillatorSpec(ppm=cfg.ppm[i], start_ps=spread[i], white_pm_ps=cfg.white_pm_ps,
                                  rw_fm=cfg.rw_fm, drift_per_s=cfg.drift_per_s)
            self.boards.append(_Board(co, Oscillator(spec, cfg.clock_hz, seeds[i])))
        self.cables = []
        for k in range(cfg.nodes - 1):
            there, back = cfg.link_delays_ps(k)
            self.cables += [_Cable(k, DOWN_OUT, k + 1, UP_IN, back, k), _Cable(k + 1, UP_OUT, k, DOWN_IN, there, k)]
        if cfg.witness:         # (coax, never pulled)
            self.cables += [_Cable(0, PPS_OUT, 1, WITNESS_INPUTS[0], cable_ps(cfg), -1),
                            _Cable(cfg.nodes - 1, PPS_OUT, 1, WITNESS_INPUTS[1], cable_ps(cfg), -1)]
        self.pps_ps = [[] for _ in range(cfg.nodes)]        # each node's PPS rising edges, physical ps
        self.pps_watchers = []          # watcher(node, [(ps, rising), ...]): each node's PPS edges as they come
        self.end_ps = cfg.seconds * 1e12
        self.rounds = 0
        self.error = None
        self._stop = threading.Event()
        self._thread = None

    # --- running -------------------------------------------------------------
    def start(self):
        for board in self.boards:
            board.co.start()
        self._thread = threading.Thread(target=self._run, name="sync-cosim", daemon=True)
        self._thread.start()

    def close(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        for board in self.boards:
            board.co.close()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def wait(self, progress=None, timeout_s=3600):
        """Until the simulated time is done (or the run failed); ``progress(fraction)`` now and then."""
        while self._thread.is_alive():
            self._thread.join(timeout=0.5)
            if progress:
                progress(min(1.0, self.reached_ps() / self.end_ps))
        if self.error is not None:
            raise RuntimeError(f"the sync co-simulation failed: {self.error!r}") from self.error

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    def reached_ps(self):
        return min(b.starts[b.done] if len(b.starts) > b.done else 0.0 for b in self.boards)

    def _frontier(self, j):
        """How far board ``j``'s inputs are known: the earliest an unreported edge could arrive."""
        fed = [c for c in self.cables if c.target == j]
        return min(self.boards[c.source].starts[self.boards[c.source].done] + c.delay_ps for c in fed)

    def _run(self):
        cfg = self.cfg
        try:
            for b in self.boards:
                b.ensure(0)
            while not self._stop.is_set() and self.reached_ps() < self.end_ps:
                sent = []
                for j, b in enumerate(self.boards):
                    frontier = self._frontier(j)
                    if cfg.round_limit_s is not None:
                        frontier = min(frontier, b.starts[b.done] + cfg.round_limit_s * 1e12)
                    b.cover(frontier)
                    last = int(np.searchsorted(b.starts, frontier, side="right")) - 1
                    if last > b.done:
                        b.co.send(b.done, last, provisional=True)
                        sent.append((b, last))
                if not sent:
                    raise RuntimeError("no board can go on: a link is shorter than a cycle")
                for b, last in sent:
                    b.co.wait(last)
                    b.done = last
                self._exchange()
                self.rounds += 1
        except Exception as e:          # wait() raises it
            self.error = e

    def _exchange(self):
        n = self.cfg.samples_per_cycle
        pull = self.cfg.pull
        for i, b in enumerate(self.boards):
            edges = b.co.output_edges(b.done, (UP_OUT, DOWN_OUT, PPS_OUT))
            pps = [(b.when(tick, n), level) for tick, level in edges[PPS_OUT]]
            self.pps_ps[i] += [t for t, level in pps if level]
            for watcher in self.pps_watchers:
                watcher(i, pps)
            for cable in (c for c in self.cables if c.source == i):
                target = self.boards[cable.target]
                for tick, level in edges[cable.output]:
                    t = b.when(tick, n)
                    if pull and pull[0] == cable.link:
                        cut = pull[1] * 1e12 <= t < pull[2] * 1e12
                        if cut and not cable.cut and cable.line_level:      # the line drops as it is cut
                            self._land(cable, target, pull[1] * 1e12, 0)
                        elif not cut and cable.cut and cable.src_level and not cable.line_level:
                            self._land(cable, target, pull[2] * 1e12, 1)    # re-plugged mid-pulse
                        cable.cut = cut
                    cable.src_level = level
                    if not cable.cut:
                        self._land(cable, target, t, level)

    def _land(self, cable, target, t_ps, level):
        cable.line_level = level
        tick = target.tick_at(t_ps + cable.delay_ps, self.cfg.samples_per_cycle)
        if tick is not None:            # (a board not yet powered up sees nothing)
            target.co.transitions.append((tick, cable.channel, level))

    # --- what the probes saw ---------------------------------------------------
    def probes(self):
        """Per node: its time (ticks) and servo state in each cycle run, and the cycle starts.

        The leader's time is its count: exact at each tick's start. A follower's count
        carries when the rate trim's fraction wraps, so the count is its time *rounded*
        to a tick, and its time is ``count + fraction - 1/2``. (Its stamps and outputs are
        on whole ticks: the servo, measuring with them, centres that time on the
        leader's, and a follower's PPS edge, at a whole count, lands within half a tick
        either side of the leader's: docs/sync.md.)"""
        out = []
        for i, (b, path) in enumerate(zip(self.boards, self.probe_files)):
            raw = np.fromfile(path, dtype="<u8").reshape(-1, 2)
            cycles = min(len(raw), b.done)
            now, low = raw[:cycles, 0], raw[:cycles, 1]
            time = now.astype(np.float64)
            if i:
                time += (low & 0xFFFF_FFFF).astype(np.float64) / 2 ** 32 - 0.5
            # (a float64 holds ticks to 2**-20 of a tick for a few seconds of 100 MHz: far below a ps)
            out.append((time, (low >> 32).astype(np.int64), b.starts[:cycles + 1]))
        return out


def leader_time(leader, t_ps, n):
    """The leader's time (ticks) at physical times ``t_ps``: its ticks between its cycle starts."""
    time, _, starts = leader
    c = np.searchsorted(starts, t_ps, side="right") - 1
    ok = (c >= 0) & (c < len(time))
    c = np.clip(c, 0, len(time) - 1)
    return np.where(ok, time[c] + n * (t_ps - starts[c]) / (starts[c + 1] - starts[c]), np.nan)


def analyse(cfg, probes, pps_ps):
    """The results' ``followers``: lock time, time error and PPS error against the leader, TDEV."""
    import allantools
    n, bin_ps = cfg.samples_per_cycle, cfg.bin_ps
    leader = probes[0]
    out = []
    for i in range(1, cfg.nodes):
        time, state, starts = probes[i]
        error_ps = (time - leader_time(leader, starts[:-1], n)) * bin_ps
        locked = (state == ServoState.LOCKED) & ~np.isnan(error_ps)
        first = int(np.argmax(locked)) if locked.any() else None
        result = {"node": i, "ppm": cfg.ppm[i], "lock_time_s": None, "locked_fraction": 0.0,
                  "time_error_mean_ps": None, "time_error_rms_ps": None, "pps_error_mean_ps": None,
                  "pps_error_rms_ps": None, "pps_edges": 0, "tdev": []}
        if first is not None:
            lock_s = (starts[first] - starts[0]) * 1e-12
            after = error_ps[first:][locked[first:]]
            result.update(lock_time_s=lock_s, locked_fraction=float(locked[first:].mean()),
                          time_error_mean_ps=float(after.mean()), time_error_rms_ps=float(np.sqrt(np.mean(after ** 2))),
                          time_error_std_ps=float(after.std()))
            pps = _pps_errors(pps_ps[0], pps_ps[i], starts[first], cfg.pps_period_s * 1e12)
            if len(pps):
                result.update(pps_error_mean_ps=float(pps.mean()), pps_error_rms_ps=float(np.sqrt(np.mean(pps ** 2))),
                              pps_edges=len(pps))
            series = error_ps[first:]
            series = series[~np.isnan(series)]
            if len(series) > 16:
                taus, dev, _, _ = allantools.tdev(series * 1e-12, rate=cfg.clock_hz, data_type="phase",
                                                 taus="octave")
                result["tdev"] = [[float(t), float(d)] for t, d in zip(taus, dev)]
            if cfg.pull:
                result["relock"] = _relock(cfg, error_ps, locked, starts)
        result["series"] = (starts[:-1], error_ps, locked)
        out.append(result)
    return out


def _pps_errors(leader_ps, follower_ps, after_ps, period_ps):
    """Each follower PPS edge after lock less the leader's nearest (within half a period)."""
    return nearest_pairs(leader_ps, [t for t in follower_ps if t >= after_ps], period_ps)[1]


def nearest_pairs(leader_ps, other_ps, period_ps):
    """Each of ``other_ps`` paired with the nearest of ``leader_ps`` (within half a period):
    (the leader's edges, the differences)."""
    leader, other = np.asarray(leader_ps, dtype=float), np.asarray(other_ps, dtype=float)
    if len(leader) < 2 or not len(other):
        return np.array([]), np.array([])
    k = np.clip(np.searchsorted(leader, other), 1, len(leader) - 1)
    k = np.where(np.abs(leader[k] - other) < np.abs(leader[k - 1] - other), k, k - 1)
    d = other - leader[k]
    keep = np.abs(d) < period_ps / 2
    return leader[k][keep], d[keep]


def _relock(cfg, error_ps, locked, starts):
    """Mean time error before the pull and after the relock, and the relock's time after the re-plug."""
    t = starts[:-1]
    cut, plug = cfg.pull[1] * 1e12 + starts[0], cfg.pull[2] * 1e12 + starts[0]
    before = error_ps[(t < cut) & locked]
    after_plug = (t >= plug)
    relocked = np.nonzero(after_plug & locked)[0]
    out = {"before_mean_ps": float(before.mean()) if len(before) else None, "relock_s": None, "after_mean_ps": None}
    if len(relocked):
        out["relock_s"] = float((t[relocked[0]] - plug) * 1e-12)
        after = error_ps[relocked[0]:][locked[relocked[0]:]]
        out["after_mean_ps"] = float(after.mean())
    return out


def run_sync_sim(cfg, *, progress=None, workdir=None):
    """Run ``cfg``; the results (as results.json holds them, plus each follower's ``series``)."""
    with tempfile.TemporaryDirectory(prefix="qnu-sync-") as tmp:
        co = SyncCosim(cfg, workdir=workdir or tmp)
        with co:
            seen = record_witness(co, progress) if cfg.witness else None
            co.wait(progress)
        probes = co.probes()
        followers = analyse(cfg, probes, co.pps_ps)
    parameters = asdict(cfg)
    parameters.update(bin_ps=cfg.bin_ps, interval_log2=cfg.interval,
                      link_delays_ps=[cfg.link_delays_ps(k) for k in range(cfg.nodes - 1)])
    results = {"backend": "verilator", "parameters": parameters, "followers": followers,
               "co_simulation": {"rounds": co.rounds, "cycles": [b.done for b in co.boards]}}
    if cfg.witness:
        results["witness"] = witness_results(cfg, seen, co.pps_ps, probes)
    return results
