"""The sync servo: the offset and delay of each two-way exchange, and the
steps and rate trim that steer the timebase to the peer's time."""

from amaranth.hdl import Module, Signal, Mux, signed
from amaranth.lib import data, wiring, stream
from amaranth.lib.wiring import In, Out

from qnu.sync import SUBTICK_BITS as F, RATE_BITS, RATIO_BITS, ServoState
from ..timing.event import TIME_WIDTH

__all__ = ["SyncServo", "SERVO_CONFIG", "EXCHANGE", "UPDATE_CYCLES", "LOCK_FILTER_LOG2"]

#: the servo's settings (docs/sync.md; register fields: qnu.regmap)
SERVO_CONFIG = data.StructLayout({
    "enable":             1,
    "steer":              1,            # 0: estimates only
    "interval_log2":      5,
    "kp_shift":           5,
    "ki_shift":           5,
    "gear":               3,            # once locked, a gear at a time: kp_shift + gear, ki_shift + 2 * gear
    "step_threshold":     24,           # ticks
    "lock_threshold":     32,           # subticks
    "lock_count":         8,
    "holdover_intervals": 8,
    "fixed_there":        signed(32),   # subticks
    "fixed_back":         signed(32),   # subticks
    "ratio":              RATIO_BITS + 1,
})

#: one two-way exchange's four times (t2 and t3 by the peer's clock)
EXCHANGE = data.StructLayout({"t1": TIME_WIDTH, "t2": TIME_WIDTH, "t3": TIME_WIDTH, "t4": TIME_WIDTH})

# the cycle (after the one an exchange is taken in) of each stage
_CHECK = 1                          # the differences' ranges, the round trip, the fibre's share
_MULTIPLY = _CHECK + 1              # RATIO_BITS + 1 cycles of shift-and-add
_OFFSET = _MULTIPLY + RATIO_BITS + 1
_DECIDE = _OFFSET + 1
_COMMIT = _DECIDE + 1
#: cycles from the one an exchange is taken in to the one its step and rate act in
UPDATE_CYCLES = _COMMIT + 1
SETTLE_EXCHANGES = 2
GOOD_MAX = 1023
GEAR_AFTER = 4                      # the gains drop a gear each GEAR_AFTER * lock_count exchanges locked
DWELL_MAX = GEAR_AFTER * 255        # (exchanges locked since the last gear: saturating)
LOCK_FILTER_LOG2 = 5                # lock is judged on the offset averaged over about 2**5 exchanges
SETTLE_MAX_EXTRA = 255              # (exchanges under way on a long link: its round trip in intervals)
INTEG_FRACTION = RATE_BITS - F      # the integral's bits below a subtick: the rate trim's own units
DIFF_BITS = 32                      # |t2 - t1| and |t4 - t3| must be under 2**31 ticks
WIDE = DIFF_BITS + 2 + F + 2        # subtick estimates


class SyncServo(wiring.Component):
    """Steers the timebase to the peer's time (sim/sync_model.py is its
    reference; docs/sync.md the arithmetic, the gains and the states).

    An exchange is taken when ``exchanges.ready``: its offset and delay are
    worked out over ``UPDATE_CYCLES``, bit by bit for the asymmetry's
    product (exchanges come once an interval of 64 cycles or more). Each
    cycle ``adjust`` carries the ticks the timebase must add: the carry of the
    rate trim's fraction, plus a step."""

    def __init__(self, *, samples_per_cycle=4):
        self.samples_log2 = samples_per_cycle.bit_length() - 1     # (floor: more exchanges settle, not fewer)
        super().__init__({
            "config":     In(SERVO_CONFIG),
            "exchanges":  In(stream.Signature(EXCHANGE)),
            "adjust":     Out(signed(TIME_WIDTH)),      # ticks to add this cycle
            "state":      Out(2),
            "offset":     Out(signed(WIDE)),             # subticks: the peer's time less ours
            "delay":      Out(signed(WIDE)),             # subticks: from our departure to the peer's arrival
            "rate":       Out(signed(RATE_BITS)),        # 2**-RATE_BITS ticks added each cycle
            "fraction":   Out(RATE_BITS),                # the time's part below a tick, 2**-RATE_BITS ticks
            "step_inc":   Out(1),
            "bad_inc":    Out(1),
            "exchange_inc": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        stage = Signal(range(UPDATE_CYCLES + 1))    # 0: idle; else the cycles since the exchange was taken
        m.d.comb += self.exchanges.ready.eq(stage == 0)
        with m.If(self.exchanges.valid & self.exchanges.ready):
            m.d.sync += stage.eq(1)
        with m.Elif((stage != 0) & (stage != UPDATE_CYCLES - 1)):
            m.d.sync += stage.eq(stage + 1)
        with m.Elif(stage == UPDATE_CYCLES - 1):
            m.d.sync += stage.eq(0)

        # --- the estimates ---
        ex = self.exchanges.payload
        a_full, b_full = Signal(TIME_WIDTH), Signal(TIME_WIDTH)
        with m.If(self.exchanges.ready):
            m.d.sync += [a_full.eq(ex.t2 - ex.t1), b_full.eq(ex.t4 - ex.t3)]

        def fits(x):        # a 64-bit difference is in (-2**31, 2**31)
            top = x[DIFF_BITS - 1:]
            return ((top == 0) | (top == (1 << len(top)) - 1)) & (x[:DIFF_BITS] != 1 << (DIFF_BITS - 1))

        a, b = a_full[:DIFF_BITS].as_signed(), b_full[:DIFF_BITS].as_signed()
        round_trip = Signal(signed(DIFF_BITS + 1))
        m.d.comb += round_trip.eq(a + b)
        bad = Signal()
        a_sub = Signal(signed(WIDE))
        ok = Signal()
        # after a step, the exchanges whose frames left before it are skipped: on a long link
        # the round trip holds several intervals' frames
        in_flight, in_flight_all = Signal(8), Signal(DIFF_BITS + 1)
        with m.If(stage == _CHECK):
            m.d.comb += bad.eq(~fits(a_full) | ~fits(b_full) | round_trip[-1])
            m.d.comb += in_flight_all.eq(round_trip.as_unsigned() >> (cfg.interval_log2 + self.samples_log2))
            m.d.sync += [a_sub.eq(a << F), ok.eq(~bad & cfg.enable),
                         in_flight.eq(Mux(in_flight_all > SETTLE_MAX_EXTRA, SETTLE_MAX_EXTRA, in_flight_all))]
        m.d.comb += [self.bad_inc.eq(cfg.enable & bad), self.exchange_inc.eq((stage == _CHECK) & cfg.enable & ~bad)]

        # fibre * ratio, a bit of the ratio a cycle (least significant first), by shift and add
        product = Signal(signed(WIDE + RATIO_BITS + 2))
        addend = Signal(signed(WIDE + RATIO_BITS + 2))
        ratio_bits = Signal(RATIO_BITS + 1)
        with m.If(stage == _CHECK):
            m.d.sync += [product.eq(0), addend.eq((round_trip << F) - cfg.fixed_there - cfg.fixed_back),
                         ratio_bits.eq(cfg.ratio)]
        with m.If((stage >= _MULTIPLY) & (stage < _OFFSET)):
            with m.If(ratio_bits[0]):
                m.d.sync += product.eq(product + addend)
            m.d.sync += [addend.eq(addend << 1), ratio_bits.eq(ratio_bits >> 1)]
        there, offset = Signal(signed(WIDE)), Signal(signed(WIDE))
        with m.If(stage == _OFFSET):
            m.d.sync += there.eq(cfg.fixed_there + (product >> RATIO_BITS))
        m.d.comb += offset.eq(a_sub - there)

        # --- the servo ---
        # the integral, and the correction, in 2**-INTEG_FRACTION subticks: offsets far under a
        # subtick * 2**ki_shift still add up (whole subticks, floored, leave a dead band that is
        # hundreds of ps wide in the narrowest gear)
        integ = Signal(signed(WIDE + 8 + INTEG_FRACTION))
        rate = Signal(signed(RATE_BITS))
        fraction = Signal(RATE_BITS)
        good = Signal(range(GOOD_MAX + 1))    # averaged offsets in a row under the lock threshold (saturating)
        # one offset is up to a tick's quantization off: lock is judged on their running average,
        # as it stood before this exchange (which keeps the average's adder out of the lock's
        # path); the first offset after a step starts it afresh
        smoothed, fresh = Signal(signed(WIDE)), Signal(init=1)
        # the gear engaged so far: one more each GEAR_AFTER * lock_count exchanges locked (a step at
        # a time, so that the wide loop's noisier integral does not land whole on the narrow one);
        # it stays until a step: a lock lost for an exchange or two must not widen the loop again
        level = Signal(3)
        dwell = Signal(range(DWELL_MAX + 1))
        average = Signal(signed(WIDE))
        average_magnitude = Signal(WIDE)
        m.d.comb += [average.eq(Mux(fresh, offset, smoothed)),
                     average_magnitude.eq(Mux(average < 0, -average, average))]
        settle = Signal(range(SETTLE_EXCHANGES + SETTLE_MAX_EXTRA + 1))
        state = Signal(2)
        quiet_max = (255 << 16) + 1
        quiet = Signal(range(quiet_max + 1))
        m.d.comb += [self.state.eq(state), self.rate.eq(rate), self.fraction.eq(fraction)]

        def clamped(x):
            top = (1 << (RATE_BITS - 1))
            return Mux(x >= top, top - 1, Mux(x < -top, -top, x))

        def rate_of(correction):        # correction (2**-INTEG_FRACTION subticks per interval) / interval
            return clamped(correction >> cfg.interval_log2)

        new_step, new_rate, new_state = Signal(signed(WIDE - F + 1)), Signal(signed(RATE_BITS)), Signal(2)
        new_offset, new_delay = Signal(signed(WIDE)), Signal(signed(WIDE))
        new_stepped, stepped = Signal(), Signal()
        step = Signal(signed(WIDE - F + 1))
        magnitude = Signal(WIDE)
        m.d.comb += magnitude.eq(Mux(offset < 0, -offset, offset))
        with m.If((stage == _DECIDE) & ok):
            m.d.sync += [new_step.eq(0), new_stepped.eq(0), new_rate.eq(rate), new_state.eq(state),
                         new_offset.eq(offset), new_delay.eq(there)]
            with m.If(~cfg.steer):
                m.d.sync += [new_rate.eq(0), new_state.eq(ServoState.FREE)]
            with m.Elif(settle != 0):
                m.d.sync += settle.eq(settle - 1)
            with m.Elif((state == ServoState.FREE) | (magnitude >= (cfg.step_threshold << F))):
                m.d.sync += [new_step.eq((offset + (1 << (F - 1))) >> F), new_stepped.eq(1),
                             settle.eq(SETTLE_EXCHANGES + in_flight), fresh.eq(1), level.eq(0), dwell.eq(0),
                             good.eq(0), new_state.eq(ServoState.ACQUIRING)]
                with m.If(state == ServoState.FREE):
                    m.d.sync += [integ.eq(0), new_rate.eq(0)]
            with m.Else():
                gear = Mux(level > cfg.gear, cfg.gear, level)
                kp_shift = cfg.kp_shift + gear
                ki_shift = cfg.ki_shift + (gear << 1)
                scaled = Signal(signed(WIDE + INTEG_FRACTION))
                m.d.comb += scaled.eq(offset << INTEG_FRACTION)
                integ_next = integ + (scaled >> ki_shift)
                good_next = Mux(average_magnitude < cfg.lock_threshold, Mux(good == GOOD_MAX, good, good + 1), 0)
                dwell_next = Mux(good_next == 0, 0,
                                 Mux((state == ServoState.LOCKED) & (dwell != DWELL_MAX), dwell + 1, dwell))
                with m.If((dwell_next >= cfg.lock_count * GEAR_AFTER) & (level < cfg.gear)):
                    m.d.sync += [level.eq(level + 1), dwell.eq(0)]
                with m.Else():
                    m.d.sync += dwell.eq(dwell_next)
                m.d.sync += [integ.eq(integ_next), good.eq(good_next), fresh.eq(0),
                             smoothed.eq(average + ((offset - average) >> LOCK_FILTER_LOG2)),
                             new_rate.eq(rate_of((scaled >> kp_shift) + integ_next)),
                             new_state.eq(Mux(good_next >= cfg.lock_count, ServoState.LOCKED, ServoState.ACQUIRING))]
        committing = (stage == _COMMIT) & ok
        with m.If(committing):
            m.d.sync += [step.eq(new_step), stepped.eq(new_stepped), rate.eq(new_rate), state.eq(new_state),
                         self.offset.eq(new_offset), self.delay.eq(new_delay)]
        with m.Else():
            m.d.sync += [step.eq(0), stepped.eq(0)]
        m.d.comb += self.step_inc.eq(stepped)

        # every cycle: the rate trim's carry, plus the step committed the cycle before
        total = Signal(RATE_BITS + 2)
        m.d.comb += total.eq(fraction + rate.as_signed())
        carry = total[RATE_BITS:].as_signed()
        m.d.sync += fraction.eq(total[:RATE_BITS])
        m.d.comb += self.adjust.eq(step + carry)

        with m.If((stage == _CHECK) & ~bad & cfg.enable):
            m.d.sync += quiet.eq(1)         # (this cycle counts: the link is alive from here)
        with m.Else():
            m.d.sync += quiet.eq(Mux(quiet == quiet_max, quiet, quiet + 1))
        holdover_after = Signal(range((255 << 16) + 1))
        m.d.comb += holdover_after.eq(cfg.holdover_intervals << cfg.interval_log2)
        with m.If(~cfg.enable):
            m.d.sync += [state.eq(ServoState.FREE), rate.eq(0), integ.eq(0), good.eq(0), settle.eq(0),
                         quiet.eq(0), step.eq(0), fresh.eq(1), level.eq(0), dwell.eq(0)]
        with m.Elif(((state == ServoState.ACQUIRING) | (state == ServoState.LOCKED)) &
                    (quiet + 1 >= holdover_after)):
            m.d.sync += [state.eq(ServoState.HOLDOVER), good.eq(0),
                         rate.eq(rate_of(integ))]
        return m
