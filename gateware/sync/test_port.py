"""Two nodes' timebases, a peer link between them and the follower's servo, in one
simulation: the follower's time against the leader's, read directly (the truth)."""

import statistics

from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from qnu.gateware.sync.port import SyncPort
from qnu.gateware.sync.servo import SyncServo
from qnu.gateware.timing.timebase import Timebase
from qnu.sync import ServoState, SUBTICK_BITS as F

N, BIT_TICKS = 4, 2
CABLE_TICKS = 173           # each way
DRIFT_EVERY = 997           # the follower's timebase gains a tick this often: 251 ppm fast
SETTINGS = dict(enable=1, steer=1, interval_log2=8, kp_shift=2, ki_shift=4, step_threshold=32, lock_threshold=2 << F,
                lock_count=4, holdover_intervals=4, fixed_there=0, fixed_back=0, ratio=1 << 23)


class Pair:
    """Leader and follower: each a timebase and a port; the follower's servo steers its timebase."""

    def __init__(self):
        self.m = m = Module()
        self.leader_tb, self.follower_tb = Timebase(N, 1 << 20), Timebase(N, 1 << 20)
        self.leader, self.follower = SyncPort(samples_per_cycle=N, bit_ticks=BIT_TICKS, lead=0), \
            SyncPort(samples_per_cycle=N, bit_ticks=BIT_TICKS, lead=0)
        self.servo = SyncServo()
        m.submodules += [self.leader_tb, self.follower_tb, self.leader, self.follower, self.servo]
        self.drift = Signal()
        m.d.comb += [self.leader.now.eq(self.leader_tb.time), self.follower.now.eq(self.follower_tb.time),
                     self.leader.rx_now.eq(self.leader_tb.time), self.follower.rx_now.eq(self.follower_tb.time),
                     self.servo.exchanges.valid.eq(self.follower.exchanges.valid),
                     self.servo.exchanges.payload.eq(self.follower.exchanges.payload),
                     self.follower.exchanges.ready.eq(self.servo.exchanges.ready),
                     self.leader.exchanges.ready.eq(1),
                     self.follower.status.eq(self.servo.state)]
        adjust = self.servo.adjust + self.drift
        m.d.comb += [self.follower_tb.adjust.valid.eq(adjust != 0), self.follower_tb.adjust.payload.eq(adjust)]


def run(cycles, *, unplugged=()):
    """Per cycle: (follower time - leader time, servo state, delay estimate); ``unplugged``: (from, to) cycles."""
    pair = Pair()
    trace = []

    async def bench(ctx):
        for port in (pair.leader, pair.follower):
            ctx.set(port.enable, 1)
            ctx.set(port.interval_log2, SETTINGS["interval_log2"])
        for name, value in SETTINGS.items():
            ctx.set(getattr(pair.servo.config, name), value)
        ctx.set(pair.follower_tb.load.valid, 1)         # the follower starts 5000 ticks ahead
        ctx.set(pair.follower_tb.load.payload, 5000)
        await ctx.tick()
        ctx.set(pair.follower_tb.load.valid, 0)
        there, back = [0] * CABLE_TICKS, [0] * CABLE_TICKS
        for c in range(cycles):
            cut = any(a <= c < b for a, b in unplugged)
            ctx.set(pair.drift, c % DRIFT_EVERY == 0)
            for line, src, dst in ((there, pair.leader, pair.follower), (back, pair.follower, pair.leader)):
                word = ctx.get(src.tx_samples)
                line.extend(0 if cut else word >> i & 1 for i in range(N))
                ctx.set(dst.rx_samples, sum(b << i for i, b in enumerate(line[:N])))
                del line[:N]
            trace.append((ctx.get(pair.follower_tb.time) - ctx.get(pair.leader_tb.time), ctx.get(pair.servo.state),
                          ctx.get(pair.servo.delay) / (1 << F)))
            await ctx.tick()

    sim = Simulator(pair.m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return trace


def test_a_follower_251_ppm_fast_locks_to_its_leader_and_relocks_to_the_same_time_after_a_pulled_cable():
    pull, plug = 16_000, 19_000
    trace = run(30_000, unplugged=[(pull, plug)])
    states = [s for _, s, _ in trace]
    locked_at = states.index(ServoState.LOCKED)
    assert locked_at < 12_000
    before = [e for e, _, _ in trace[locked_at + 1000:pull]]
    assert max(abs(e) for e in before) <= 2 and abs(statistics.mean(before)) < 0.5
    # the delay estimate: the cable, to a tick
    assert abs(trace[pull - 1][2] - CABLE_TICKS) <= 1
    # the cable out: holdover, then steering again when it is back
    assert ServoState.HOLDOVER in states[pull:plug]
    relocked = plug + states[plug:].index(ServoState.LOCKED)
    after = [e for e, _, _ in trace[relocked + 1000:]]
    assert max(abs(e) for e in after) <= 2 and abs(statistics.mean(after) - statistics.mean(before)) < 0.5


def test_the_first_step_lands_on_the_leader_s_time_nothing_is_echoed_before_a_peer_frame_came():
    """Out of reset a port has heard no frame: an echo of (0, 0) then would make a
    half-sized first step (the follower's first exchange would pair the leader's
    departure with times nobody stamped)."""
    errors = [e for e, _, _ in run(3000)]
    first = next(k for k in range(1, len(errors)) if abs(errors[k] - errors[k - 1]) > 8)
    assert abs(errors[0]) > 4000 and abs(errors[first]) <= 2
