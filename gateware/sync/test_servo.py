"""The sync servo against its reference model (sim/sync_model.py), cycle by cycle."""

import dataclasses
import random

import pytest
from amaranth.sim import Simulator

from qnu.gateware.sync.servo import SyncServo, UPDATE_CYCLES as GATEWARE_UPDATE_CYCLES
from qnu.sync import ServoState, asymmetry_ratio, SUBTICK_BITS as F
from qnu.sim.sync_model import ServoModel, ServoSettings, UPDATE_CYCLES, exchange_estimates


class Follower:
    """Exchanges of a follower ``ppm`` fast and ``offset`` ticks ahead of its leader,
    its clock steered by the servo's adjustments (a closed loop), one every
    ``interval`` cycles or so; some refused, a gap in them (a cable pulled)."""

    def __init__(self, rng, *, interval, ppm, delay_there, delay_back, noise=1, bad_every=0, gap_at=None,
                 offset=40, count=40):
        self.rng, self.interval, self.ppm, self.noise = rng, interval, ppm, noise
        self.delay_there, self.delay_back, self.bad_every, self.gap_at = delay_there, delay_back, bad_every, gap_at
        self.offset, self.count = offset, count
        self.steer = 0                      # ticks the servo has added to the follower's clock
        self.k, self.due = 0, 50

    def clock(self, leader_ticks):
        return int(leader_ticks * (1 + self.ppm * 1e-6)) + self.offset + self.steer

    def offer(self, cycle):
        """The exchange due at ``cycle`` (t1, t2, t3, t4), or None."""
        if self.k >= self.count or cycle < self.due:
            return None
        leader, rng, noise = cycle * 4, self.rng, self.noise
        t1 = self.clock(leader - 900)
        t2 = leader - 900 + self.delay_there + rng.randrange(-noise, noise + 1)
        t3 = leader - 300
        t4 = self.clock(leader - 300 + self.delay_back) + rng.randrange(-noise, noise + 1)
        if self.bad_every and self.k % self.bad_every == self.bad_every - 1:
            t2 += rng.choice([1 << 40, -(1 << 33), -3 * self.delay_there])    # out of range; a negative round trip
        return tuple(t % (1 << 64) for t in (t1, t2, t3, t4))

    def taken(self):
        self.k += 1
        self.due += self.interval + self.rng.randrange(-3, 4)
        if self.gap_at is not None and self.k == self.gap_at:
            self.due += 12 * self.interval


def run(settings, follower, cycles, *, disable=None):
    """The gateware and the model side by side; per cycle (adjust, state, rate, offset, delay), both."""
    dut = SyncServo()
    model = ServoModel(settings)
    got, want = [], []
    counts = {"step": 0, "bad": 0, "exchange": 0}

    async def bench(ctx):
        for c in range(cycles):
            enable = settings.enable and not (disable and disable[0] <= c < disable[1])
            s = dataclasses.replace(settings, enable=enable)
            model.settings = s
            for name in ("enable", "steer", "interval_log2", "kp_shift", "ki_shift", "gear", "step_threshold",
                         "lock_threshold",
                         "lock_count", "holdover_intervals", "fixed_there", "fixed_back", "ratio"):
                ctx.set(getattr(dut.config, name), int(getattr(s, name)))
            offer = follower.offer(c)
            ctx.set(dut.exchanges.valid, offer is not None)
            if offer is not None:
                ctx.set(dut.exchanges.payload, dict(zip(("t1", "t2", "t3", "t4"), offer)))
                assert ctx.get(dut.exchanges.ready) == model.ready()
                if model.ready():
                    model.exchange(*offer)
                    follower.taken()
            got.append((ctx.get(dut.adjust), ctx.get(dut.state), ctx.get(dut.rate), ctx.get(dut.offset),
                        ctx.get(dut.delay)))
            for name in counts:
                counts[name] += ctx.get(getattr(dut, f"{name}_inc"))
            adjust = model.cycle()
            follower.steer += adjust
            state, rate, offset, delay = model.shown
            want.append((adjust, int(state), rate, offset, delay))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return got, want, counts, model


def first_difference(got, want):
    for c, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return c, g, w
    return None


def test_the_gateware_and_the_model_agree_on_the_update_latency():
    assert GATEWARE_UPDATE_CYCLES == UPDATE_CYCLES


@pytest.mark.parametrize("case", ["symmetric", "asymmetric", "garbage", "holdover", "disabled", "estimates",
                                  "long"])
def test_the_servo_steers_as_the_model_does_cycle_by_cycle(case):
    rng = random.Random(f"servo {case}")
    interval_log2 = 6
    settings = ServoSettings(interval_log2=interval_log2, kp_shift=2, ki_shift=4, gear=1, step_threshold=16,
                             lock_threshold=3 << F, lock_count=3, holdover_intervals=4)
    kwargs = dict(interval=1 << interval_log2, ppm=150, delay_there=400, delay_back=400)
    disable = None
    if case == "asymmetric":
        settings = dataclasses.replace(settings, fixed_there=37 << F | 1234, fixed_back=-(5 << F),
                                       ratio=asymmetry_ratio(0.07))
        kwargs.update(delay_there=430, delay_back=380)
    if case == "garbage":
        kwargs.update(bad_every=4)
    if case == "long":          # a round trip of 23 intervals: that many exchanges settle after a step
        kwargs.update(delay_there=3000, delay_back=2900)
    if case == "holdover":
        kwargs.update(gap_at=14)
    if case == "disabled":
        disable = (600, 900)
    if case == "estimates":
        settings = dataclasses.replace(settings, steer=False)
    follower = Follower(rng, **kwargs)
    got, want, counts, model = run(settings, follower, 40 * 70 + 12 * 64 + 400, disable=disable)
    assert first_difference(got, want) is None
    assert (counts["step"], counts["bad"], counts["exchange"]) == (model.steps, model.bad, model.exchanges)
    states = {w[1] for w in want}
    if case == "estimates":
        assert states == {ServoState.FREE} and model.exchanges > 10 and not any(w[0] for w in want)
        return
    assert ServoState.LOCKED in states or case == "garbage"
    if case == "holdover":
        assert ServoState.HOLDOVER in states
    if case == "garbage":
        assert model.bad > 0


def test_the_estimates_follow_the_white_rabbit_formula():
    """offset and delay of one exchange against delay_ms = (1 + alpha)/(2 + alpha) of the fibre's round trip."""
    alpha = 2.5e-4
    s = ServoSettings(fixed_there=100 << F, fixed_back=60 << F, ratio=asymmetry_ratio(alpha))
    fibre_there, fibre_back = 50_000 * (1 + alpha) / (2 + alpha) * 2, 50_000 * 2 / (2 + alpha)
    offset = 1234                      # the peer ahead by this many ticks
    t1 = 10_000
    t2 = t1 + 100 + fibre_there + offset
    t3 = t2 + 5000
    t4 = t3 - offset + 60 + fibre_back
    got_offset, got_delay = exchange_estimates(t1, round(t2), round(t3), round(t4), s)
    assert abs(got_offset / (1 << F) - offset) < 1.0
    assert abs(got_delay / (1 << F) - (100 + fibre_there)) < 1.0


def fed(offsets, settings):
    """The model fed exchanges showing ``offsets`` (ticks), one an interval: (state, rate, gear) after each."""
    model, delay, shown = ServoModel(settings), 100, []
    now = 0
    for o in offsets:
        t1 = now * 4
        model.exchange(t1, t1 + delay + o, t1 + 500, t1 + 500 + delay - o)   # (the peer o ticks ahead)
        for _ in range(1 << settings.interval_log2):
            model.cycle()
            now += 1
        shown.append((model.state, model.rate, model.level))
    return shown


def states_for_offsets(offsets, settings):
    return [state for state, _, _ in fed(offsets, settings)]


def test_lock_is_judged_on_the_offsets_average_not_on_one_offset():
    """Whole-tick stamps put each offset up to a tick off: the servo locks on their running
    average. Offsets of +-3 ticks about 0 lock (under a 1-tick threshold); offsets mostly 0
    but averaging 1.5 ticks do not, though runs of single offsets are under it."""
    s = ServoSettings(interval_log2=6, step_threshold=16, lock_threshold=1 << F, lock_count=4, holdover_intervals=4)
    noisy = states_for_offsets([0] + [3, -3] * 100, s)
    assert ServoState.LOCKED in noisy and noisy[-1] == ServoState.LOCKED
    biased = states_for_offsets([0] + [0, 0, 0, 0, 0, 9] * 40, s)
    assert ServoState.LOCKED not in biased[100:]


def test_the_narrow_gains_stay_when_lock_is_lost_for_an_exchange():
    """Geared (a gear each 4 lock_count exchanges locked: both after 16 here), outliers that
    break lock are still steered with the narrow gains, 2**-(kp_shift + gear), not 2**-kp_shift."""
    s = ServoSettings(interval_log2=6, step_threshold=16, lock_threshold=1 << 12, lock_count=2, kp_shift=2,
                      ki_shift=4, gear=2, holdover_intervals=4)
    quiet = 1 + 2 + 24                  # the step, the two exchanges that straddle it, then locked and geared
    shown = fed([0] * quiet + [4, 4, 4], s)
    assert shown[quiet - 1][0] == ServoState.LOCKED and shown[quiet - 1][2] == 2
    state, rate, _ = shown[quiet + 2]   # the third outlier: the average left by the first broke lock
    assert state == ServoState.ACQUIRING
    offset = 4 << F << (32 - F)         # (in the integral's units: 2**-16 subticks)
    integ = 3 * (offset >> (4 + 2 * 2))
    assert rate == ((offset >> (2 + 2)) + integ) >> 6


def test_the_gears_engage_one_at_a_time():
    """A gear more each GEAR_AFTER * lock_count exchanges locked, up to ``gear``; a step
    takes them all back."""
    from qnu.sim.sync_model import GEAR_AFTER
    s = ServoSettings(interval_log2=6, step_threshold=16, lock_threshold=1 << F, lock_count=2, gear=2,
                      holdover_intervals=4)
    shown = fed([0] * 40 + [20] + [0] * 3, s)          # (20 ticks: over the step threshold)
    levels = [level for _, _, level in shown]
    locked = [state for state, _, _ in shown].index(ServoState.LOCKED)
    assert levels[:locked + 1] == [0] * (locked + 1)
    # (the level counts from the exchange after: shown[k] is after exchange k)
    assert levels.index(1) == locked + GEAR_AFTER * s.lock_count
    assert levels.index(2) == locked + 2 * GEAR_AFTER * s.lock_count and max(levels) == 2
    assert levels[40:] == [0] * 4


def test_offsets_far_under_the_integral_gain_still_add_up():
    """Half a tick each exchange with ki_shift 20: 2**15 subticks >> 20 is nothing in whole
    subticks, so a floored integral would never move and a P loop would keep the error; the
    integral's fraction keeps it growing, exchange by exchange, as 2**-ki_shift of each."""
    s = ServoSettings(interval_log2=6, step_threshold=16, lock_threshold=1 << F, kp_shift=3, ki_shift=20,
                      holdover_intervals=4)
    model, delay, integs = ServoModel(s), 100, []
    for k in range(12):
        t1 = k * 4 << 6
        model.exchange(t1, t1 + delay + 1, t1 + 500, t1 + 500 + delay)     # (a half-tick offset)
        for _ in range(1 << 6):
            model.cycle()
        integs.append(model.integ)
    steps = [b - a for a, b in zip(integs[3:], integs[4:])]      # (after the step and the two that straddle it)
    assert steps == [(1 << (F - 1)) * 2 ** (32 - F) // 2 ** 20] * len(steps) and steps[0] > 0
