"""Reference model of the sync servo, written from its specification
(docs/sync.md), sharing no code with the gateware but the constants of
qnu/sync.py.

One two-way exchange (``t1`` my frame's departure, ``t2`` its arrival at the
peer, ``t3`` the peer's frame's departure, ``t4`` its arrival here; ``t2``
and ``t3`` by the peer's clock, the others by mine) gives, in subticks
(``2**-SUBTICK_BITS`` ticks)::

    a      = t2 - t1                         b = t4 - t3
    fibre  = (a + b) * 2**F - fixed_there - fixed_back
    there  = fixed_there + floor(fibre * ratio / 2**RATIO_BITS)
    offset = a * 2**F - there                 (the peer's time less mine)

``fixed_there`` is this node's transmit latency plus the peer's receive
latency, ``fixed_back`` the peer's transmit plus this node's receive latency,
``ratio`` = ``(1 + alpha) / (2 + alpha)`` of the fibre's asymmetry. An
exchange with ``|a|`` or ``|b|`` of ``2**31`` ticks or more, or a negative
round trip, is refused (``bad``).

Then the servo, the exchange's results in force ``UPDATE_CYCLES`` after the
cycle it was taken in:

- with ``steer`` off, the estimates only: the state stays ``FREE``;
- for the two exchanges after a step (their times straddle it): no steering;
- if the servo was free, or ``|offset| >= step_threshold`` ticks: a step of
  ``round(offset)`` ticks (halves up), the state ``ACQUIRING``;
- else a PI update, in units of ``2**-I`` subticks (``I = RATE_BITS - F``,
  so that small offsets still add up): ``integ += (offset << I) >> ki_shift``;
  the next interval's correction is ``((offset << I) >> kp_shift) + integ``,
  spread over it as the rate trim ``rate = correction >> interval_log2``
  (clamped to a signed 32-bit value); ``LOCKED`` once ``lock_count`` updates
  in a row found the offsets' running average under ``lock_threshold``
  subticks: the average as it stood before the update (the first offset
  after a step, or out of reset, stands for it), then
  ``average += (offset - average) >> LOCK_FILTER_LOG2``; each
  ``GEAR_AFTER * lock_count`` updates in a row while ``LOCKED`` engage one
  more gear, up to ``gear``: the gains drop to ``kp_shift + level`` and
  ``ki_shift + 2 * level``, and stay there until the next step;
- with no exchange for ``holdover_intervals`` intervals, ``HOLDOVER``: the
  rate trim keeps the integral term alone.

Every cycle the rate trim is added to a 32-bit fraction; its carry (-1, 0 or
+1 tick), plus a step in the cycle it takes effect, is the timebase's
adjustment for that cycle. ``>>`` is an arithmetic (floor) shift.
"""

from dataclasses import dataclass, field

from qnu.sync import SUBTICK_BITS, RATE_BITS, RATIO_BITS, SYMMETRIC_RATIO, ServoState, to_signed

__all__ = ["ServoSettings", "ServoModel", "UPDATE_CYCLES", "exchange_estimates"]

F = SUBTICK_BITS
#: cycles from the one an exchange is taken in to the one its step and rate act in
UPDATE_CYCLES = RATIO_BITS + 6
SETTLE_EXCHANGES = 2
GOOD_MAX = 1023                 # offsets in a row under the lock threshold: a saturating count
GEAR_AFTER = 4                  # the gains drop a gear each GEAR_AFTER * lock_count exchanges locked
LOCK_FILTER_LOG2 = 5            # lock is judged on the offset averaged over about 32 exchanges
SETTLE_MAX_EXTRA = 255
INTEG_FRACTION = RATE_BITS - F  # the integral's bits below a subtick
RATE_LIMIT = 1 << 31


@dataclass(frozen=True)
class ServoSettings:
    enable: bool = True
    steer: bool = True                  # False: estimates only (the timebase is left alone)
    interval_log2: int = 10
    kp_shift: int = 3
    ki_shift: int = 6
    gear: int = 0                       # locked a while: kp_shift + gear, ki_shift + 2 * gear
    step_threshold: int = 64            # ticks
    lock_threshold: int = 1 << F        # subticks
    lock_count: int = 8
    holdover_intervals: int = 4
    fixed_there: int = 0                # subticks
    fixed_back: int = 0                 # subticks
    ratio: int = SYMMETRIC_RATIO
    samples_log2: int = 2               # the node's samples per cycle, log2 (a build's, not a register)


def exchange_estimates(t1, t2, t3, t4, s):
    """(offset, there-delay) in subticks, or None if the exchange is refused."""
    a, b = to_signed(t2 - t1, 64), to_signed(t4 - t3, 64)
    if not (-(1 << 31) < a < 1 << 31 and -(1 << 31) < b < 1 << 31) or a + b < 0:
        return None
    fibre = ((a + b) << F) - s.fixed_there - s.fixed_back
    there = s.fixed_there + (fibre * s.ratio >> RATIO_BITS)
    return (a << F) - there, there


def in_flight(t1, t2, t3, t4, s):
    """Exchanges still to come after a step whose frames left before it: the round
    trip in intervals (a long link has several under way)."""
    round_trip = to_signed(t2 - t1, 64) + to_signed(t4 - t3, 64)
    return min(SETTLE_MAX_EXTRA, round_trip >> (s.interval_log2 + s.samples_log2))


@dataclass
class ServoModel:
    """The servo, cycle by cycle: :meth:`exchange` in the cycle an exchange is
    taken, :meth:`cycle` once per cycle (after any exchange of that cycle)."""
    settings: ServoSettings = field(default_factory=ServoSettings)
    state: ServoState = ServoState.FREE
    offset: int = 0
    delay: int = 0
    integ: int = 0
    rate: int = 0
    fraction: int = 0
    good: int = 0
    average: int = None         # the offsets' running average (subticks); None: starts afresh
    level: int = 0              # the gear engaged so far (until a step)
    dwell: int = 0              # exchanges locked since the last gear
    settle: int = 0
    quiet: int = 0              # cycles since the last exchange
    steps: int = 0
    bad: int = 0
    exchanges: int = 0
    now: int = 0                # cycles run
    busy_until: int = -1
    _restart: int = -1
    _pending: list = field(default_factory=list)     # (cycle it acts in, step, rate, state)

    def ready(self):
        return self.now > self.busy_until

    def exchange(self, t1, t2, t3, t4):
        """An exchange taken in this cycle (the servo must be ready)."""
        s = self.settings
        assert self.ready()
        self.busy_until = self.now + UPDATE_CYCLES - 1
        if not s.enable:
            return
        estimate = exchange_estimates(t1, t2, t3, t4, s)
        if estimate is None:
            self.bad += 1
            return
        self.exchanges += 1
        self._restart = self.now + 1        # (the link counts as alive from the cycle the exchange is checked in)
        offset, delay = estimate
        step, rate, state = 0, self.rate, self.state
        if not s.steer:
            state, rate = ServoState.FREE, 0
        elif self.settle:
            self.settle -= 1
        elif self.state == ServoState.FREE or abs(offset) >= s.step_threshold << F:
            step = (offset + (1 << (F - 1))) >> F
            if self.state == ServoState.FREE:
                self.integ, rate = 0, 0
            self.settle, self.good, state = SETTLE_EXCHANGES + in_flight(t1, t2, t3, t4, s), 0, ServoState.ACQUIRING
            self.average, self.level, self.dwell = None, 0, 0
            self.steps += 1
        else:
            gear = min(self.level, s.gear)
            scaled = offset << INTEG_FRACTION
            self.integ += scaled >> (s.ki_shift + 2 * gear)
            correction = (scaled >> (s.kp_shift + gear)) + self.integ
            rate = _clamp(correction >> s.interval_log2)
            average = offset if self.average is None else self.average
            self.good = min(GOOD_MAX, self.good + 1) if abs(average) < s.lock_threshold else 0
            self.dwell = 0 if not self.good else min(GEAR_AFTER * 255, self.dwell + (self.state == ServoState.LOCKED))
            if self.dwell >= GEAR_AFTER * s.lock_count and self.level < s.gear:
                self.level, self.dwell = self.level + 1, 0
            self.average = average + ((offset - average) >> LOCK_FILTER_LOG2)
            state = ServoState.LOCKED if self.good >= s.lock_count else ServoState.ACQUIRING
        self._pending.append((self.now + UPDATE_CYCLES, step, rate, state, offset, delay))

    def cycle(self):
        """One cycle; the timebase's adjustment in it (ticks)."""
        s = self.settings
        step = 0
        if self._pending and self._pending[0][0] == self.now:
            _, step, self.rate, self.state, self.offset, self.delay = self._pending.pop(0)
        #: what the servo shows in this cycle: (state, rate, offset, delay)
        self.shown = (self.state, self.rate, self.offset, self.delay)
        total = self.fraction + self.rate
        carry, self.fraction = total >> RATE_BITS, total & ((1 << RATE_BITS) - 1)
        # (what follows is in force from the next cycle)
        if self._restart == self.now:
            self.quiet = 0
        self.quiet += 1
        if not s.enable:
            self.state, self.rate, self.integ, self.good, self.settle, self.quiet = ServoState.FREE, 0, 0, 0, 0, 0
            self.average, self.level, self.dwell = None, 0, 0
            self._pending.clear()
        elif self.state in (ServoState.ACQUIRING, ServoState.LOCKED) and \
                self.quiet >= s.holdover_intervals << s.interval_log2:
            self.state, self.good = ServoState.HOLDOVER, 0
            self.rate = _clamp(self.integ >> s.interval_log2)
        self.now += 1
        return step + carry


def _clamp(rate):
    return max(-RATE_LIMIT, min(RATE_LIMIT - 1, rate))
