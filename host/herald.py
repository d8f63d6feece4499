"""The node's herald unit from the host: ``dev.herald``.

    dev.herald.configure(scheme="single-click", detectors=(0, 1), window_ps=30_000,
                         window_offset_ps=20_000, success_output=2, state_output=3)
    dev.attempts.start(period_ps=2_000_000, pattern=[...], stop_on="herald")
    dev.herald.counts()            # {'references': ..., 'fail': ..., 'psi_plus': ..., ...}

Each attempt starts at a reference (the attempt loop's start, or a rising
edge on ``reference``); one or two windows follow it (``window_offset_ps``,
and for Barrett-Kok ``late_window_offset_ps``), each ``window_ps`` wide,
half-open, in whole ticks, in every detector's time after its channel delay.
The decision table (a scheme's preset or your own, see :mod:`qnu.herald`)
maps the click pattern to an outcome; a success pulses ``success_output``
(and ``state_output`` too for psi-) ``latency_cycles`` core cycles after the
last window closes, stops the local attempt loop if it was started with
``stop_on="herald"``, and its record joins the event stream
(``Recording.heralds``).
"""

from qnu.herald import (Outcome, MAX_DETECTORS, INPUT_REFERENCE_LEAD_CYCLES, pack_table, scheme_table, TABLE_ENTRIES,
                        FIXED_DETECTOR_CHANNELS, FIXED_REFERENCE_CHANNEL)
from qnu.regmap import OutputSource

from .errors import DeviceError, HeraldRefused

__all__ = ["Herald", "Outcome"]

_MAX_WINDOW = (1 << 24) - 1
_MAX_WIDTH = 0xFFFF
_COUNTS = ("references", "overlaps", "fail", "psi_plus", "psi_minus", "reject", "records_lost")


class Herald:
    """The herald unit of one node (its ``features`` has ``herald``)."""

    def __init__(self, device):
        self._dev = device

    @property
    def latency_cycles(self):
        """Core cycles from the last window's last word to the herald's word at the outputs."""
        return self._dev.regs["her_latency"]

    def configure(self, *, scheme="single-click", detectors=(0, 1), window_ps, window_offset_ps,
                  late_window_offset_ps=None, reference="attempts", table=None,
                  multi_outcome=Outcome.REJECT, success_output=None, state_output=None, pulse_width_ps=None,
                  record=(Outcome.PSI_PLUS, Outcome.PSI_MINUS, Outcome.REJECT), tag_detectors=True):
        """Program and enable the unit; returns the windows in ticks, [(offset, width), ...].

        ``reference``: ``"attempts"`` (the attempt loop's starts) or an input
        channel. ``table``: TABLE_ENTRIES outcomes in place of the scheme's.
        ``success_output`` and ``state_output`` are switched to the herald
        (None: left as they are). Detector channels are set to tag rising
        edges (unless ``tag_detectors`` is false): a click is what the channel
        accepts. Everything is checked before anything is sent."""
        dev = self._dev
        clock = dev.clock
        preset, windows = scheme_table(scheme)
        table = list(table) if table is not None else preset
        if len(table) != TABLE_ENTRIES:
            raise HeraldRefused(f"a decision table has {TABLE_ENTRIES} entries, not {len(table)}")
        detectors = list(detectors)
        if not 1 <= len(detectors) <= MAX_DETECTORS:
            raise HeraldRefused(f"one to {MAX_DETECTORS} detectors, not {len(detectors)}")
        for ch in detectors + ([] if reference == "attempts" else [reference]):
            dev._check_channel(ch)
        if dev.features.herald_fixed:
            fixed = list(FIXED_DETECTOR_CHANNELS[:len(detectors)])
            if detectors != fixed or reference not in ("attempts", FIXED_REFERENCE_CHANNEL):
                raise HeraldRefused(f"this node's herald unit reads its detectors on inputs {fixed} in order and an "
                                    f"input reference on input {FIXED_REFERENCE_CHANNEL} (a build with fixed herald "
                                    f"channels: docs/boards.md), not detectors {detectors} and reference "
                                    f"{reference!r}")
        width = clock.whole_ticks("window_ps", window_ps)
        offsets = [clock.whole_ticks("window_offset_ps", window_offset_ps)]
        if windows == 2:
            if late_window_offset_ps is None:
                raise HeraldRefused(f"{scheme} has two windows: give late_window_offset_ps")
            offsets.append(clock.whole_ticks("late_window_offset_ps", late_window_offset_ps))
        if not 1 <= width <= _MAX_WINDOW:
            raise HeraldRefused(f"a window is 1 to {_MAX_WINDOW} ticks wide, not {width} ({window_ps} ps): "
                                "a reference with no window would never be decided")
        for offset in offsets:
            if offset > _MAX_WINDOW:
                raise HeraldRefused(f"a window opens at most {_MAX_WINDOW} ticks after its reference, not {offset}")
        if len(offsets) == 2 and offsets[1] < offsets[0] + width:
            raise HeraldRefused("the late window must open after the early one closes")
        n = dev.info.samples_per_cycle
        delays = {ch: dev.channel_config(ch).delay_ps for ch in set(detectors) | ({reference} - {"attempts"})}
        ref_delay = 0 if reference == "attempts" else clock.to_ticks(delays[reference])
        least = 0 if reference == "attempts" else INPUT_REFERENCE_LEAD_CYCLES * n
        for ch in detectors:
            earliest = min(offsets) + ref_delay - clock.to_ticks(delays[ch])
            if earliest < least:
                raise HeraldRefused(f"the window opens {earliest} ticks after the raw reference on detector channel "
                                    f"{ch} (its delay moves it): the unit sees clicks from {least} on")
        if reference == "attempts" and dev.features.attempts:
            period = dev.regs["att_period"]
            end = max(offsets) + width
            if not period:
                raise HeraldRefused("the attempt loop has no period yet (att_period is 0): the windows must end "
                                    "within it; start the loop, or set its period, first")
            if end > period:
                raise HeraldRefused(f"the windows end {end} ticks after the attempt start, beyond the attempt "
                                    f"period of {period} ticks")
        outputs = [o for o in (success_output, state_output) if o is not None]
        for o in outputs:
            if not 0 <= o < dev.features.outputs:
                raise HeraldRefused(f"output {o} does not exist (the node has {dev.features.outputs})")
        pulse = clock.whole_ticks("pulse_width_ps", pulse_width_ps) if pulse_width_ps is not None else \
            max(1, min(_MAX_WIDTH, round(dev.info.samples_per_cycle * 4)))
        if not 1 <= pulse <= _MAX_WIDTH:
            raise HeraldRefused(f"the herald pulse is 1 to {_MAX_WIDTH} ticks wide, not {pulse}")

        values = {f"her_table{i}": w for i, w in enumerate(pack_table(table))}
        values["her_detectors"] = sum((ch | 1 << 7) << 8 * d for d, ch in enumerate(detectors))
        values.update(her_win0_offset=offsets[0], her_win0_width=width,
                      her_win1_offset=offsets[-1], her_win1_width=width if windows == 2 else 0,
                      her_out=(success_output or 0) | (state_output or 0) << 4 | pulse << 16)
        ctrl = 1 | windows << 2 | int(Outcome(multi_outcome)) << 4 | sum(1 << int(Outcome(o)) for o in record) << 8
        if reference != "attempts":
            ctrl |= 1 << 1 | reference << 16
        self.disable()
        if tag_detectors:
            for ch in detectors:
                cfg = dev.channel_config(ch)
                dev.configure(ch, enable=cfg.enable, rising=True, falling=cfg.falling, delay_ps=cfg.delay_ps,
                              dead_time_ps=cfg.dead_time_ps)
        dev.regs.write(values)
        try:
            dev.regs.write({"her_ctrl": ctrl})
        except DeviceError as e:
            raise HeraldRefused(f"the node refused to enable the herald unit ({e})") from None
        for o in outputs:
            dev.outputs[o].source = OutputSource.HERALD
        return [(o, width) for o in offsets]

    def disable(self):
        self._dev.regs.write({"her_ctrl": 0b01 << 2})

    def counts(self):
        """Counters since power-up (wrapping at 2**32): references, overlaps, one per outcome, records_lost."""
        values = self._dev.regs.read(*(f"her_{name}" for name in _COUNTS))
        return {name: values[f"her_{name}"] for name in _COUNTS}

    @property
    def busy(self):
        return bool(self._dev.regs["her_status"] & 1)
