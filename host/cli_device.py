"""``qnu info``, ``qnu regs`` and ``qnu tags``: a node on a serial port, from the shell.

``--port`` takes a serial port path (/dev/ttyUSB0, or the pty a virtual board
prints) or a pyserial URL; the QNU_PORT environment variable sets a default.
"""

import os
import sys
import time

from qnu.host.calibrate import calibrate_loopback
from qnu.host.device import open_device
from qnu.host.registers import field_values
from qnu.recording import Recording

__all__ = ["SUBCOMMANDS", "add_info", "add_regs", "add_tags", "add_calibrate"]


def _add_port_options(parser):
    default = os.environ.get("QNU_PORT")
    parser.add_argument("--port", default=default, required=default is None,
                        help="serial port path or pyserial URL (default: $QNU_PORT)")
    parser.add_argument("--baudrate", type=int, default=3_000_000)
    parser.add_argument("--timeout", type=float, default=1.0, help="seconds to wait for each reply")


def _open(args):
    return open_device(args.port, baudrate=args.baudrate, timeout=args.timeout)


def _table(header, rows, align=None):
    """Print columns aligned as ``align`` says, one letter per column: r (default) or l."""
    rows = [[str(c) for c in r] for r in rows]
    align = align or "r" * len(header)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        cells = [c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(r, widths, align)]
        print("  ".join(cells).rstrip())


# --- qnu info ---------------------------------------------------------------------

def info(args):
    with _open(args) as dev:
        i, clock = dev.info, dev.clock
        print(f"port           {args.port}")
        print(f"protocol       {i.protocol_version}")
        print(f"build id       {i.build_id:#010x}")
        print(f"clock          {i.clock_hz:,} Hz, {i.samples_per_cycle} samples/cycle, "
              f"fine tick {float(clock.bin_ps):g} ps")
        print(f"time           {dev.read_time():,} ticks")
        period = dev.pulse_period()
        print(f"pulse period   {period:,} ticks ({float(period * clock.bin_ps) / 1e12:g} s), "
              f"{dev.regs.read('pulses_missed')['pulses_missed']} missed")
        print(f"front end      {dev.phy_status()}")
        link = dev.regs.read(*(r.name for r in dev.regs.map if r.name.startswith("err_")),
                             "frames_ok", "records_sent")
        print("link           " + ", ".join(f"{k} {v}" for k, v in link.items()))
        _print_outputs(dev)
        print()
        counters = dev.counters()
        rows = []
        for c in range(dev.channels):
            cfg = dev.channel_config(c)
            edges = "+".join(e for e, on in (("rising", cfg.rising), ("falling", cfg.falling)) if on) or "-"
            rows.append([c, "on" if cfg.enable else "off", edges, cfg.delay_ps, cfg.dead_time_ps,
                         counters.events[c], counters.lost[c]])
        _table(["channel", "enable", "edges", "delay ps", "dead time ps", "events", "lost"], rows,
               align="rllrrrr")


def _print_outputs(dev):
    """The trigger outputs' sources, and the sequencer's and attempt loop's counters."""
    f = dev.features
    sources = ", ".join(f"{o.index} {o.source.name.lower()}" for o in dev.outputs) if f.selectable \
        else "all carry the pulse"
    print(f"outputs        {f.outputs}: {sources}")
    if f.sequencer:
        s = dev.sequencer.status()
        late = ""
        if s.first_late is not None:
            late = (f"; first late: output {s.first_late.output} at tick {s.first_late.time_ticks:,}, "
                    f"{s.first_late.late_by_ticks:,} ticks late")
        print(f"sequencer      played {s.played}, late {s.late}, refused {s.refused}{late}")
    if f.attempts:
        print(f"attempts       {dev.attempts.status()}")


def add_info(sub):
    p = sub.add_parser("info", help="identify a node and show its channels and link counters")
    _add_port_options(p)
    p.set_defaults(func=info)


# --- qnu regs ---------------------------------------------------------------------

def regs(args):
    with _open(args) as dev:
        if not args.items:
            values = dev.regs.read_all()
            rows = []
            for name, value in values.items():
                reg = dev.regs.map[name]
                fields = " ".join(f"{k}={v}" for k, v in field_values(reg, value).items())
                rows.append([f"{reg.address:#06x}", name, reg.access, f"{value:#010x}", value, fields])
            _table(["address", "name", "access", "hex", "decimal", "fields"], rows, align="lllrrl")
            return
        for item in args.items:
            name, eq, text = item.partition("=")
            if eq:
                try:
                    value = int(text, 0)
                    dev.regs.write({name: value})
                except ValueError as e:
                    sys.exit(f"qnu regs: {item}: {e}")
                print(f"{name} <- {value:#010x} ({value})")
            else:
                value = dev.regs[name]
                print(f"{name} = {value:#010x} ({value})")


def add_regs(sub):
    p = sub.add_parser("regs", help="read or write registers by name",
                       description="With no NAME, print every readable register. NAME reads one; "
                                   "NAME=VALUE writes one (decimal, or hex as 0x...). In the order given.")
    _add_port_options(p)
    p.add_argument("items", nargs="*", metavar="NAME[=VALUE]")
    p.set_defaults(func=regs)


# --- qnu tags ---------------------------------------------------------------------

def tags(args):
    with _open(args) as dev:
        if not args.keep_config:
            try:
                _configure(dev, args)
            except ValueError as e:
                sys.exit(f"qnu tags: {e}")
        duration = 1.0 if args.duration is None and args.max_tags is None else args.duration
        bar = _ProgressBar(duration, args.max_tags)
        try:
            rec = dev.record(duration, max_tags=args.max_tags, progress=bar.update)
        except (Exception, KeyboardInterrupt) as e:
            bar.close()
            if getattr(e, "partial", None):
                partial = Recording(e.partial, clock_hz=dev.info.clock_hz,
                                    samples_per_cycle=dev.info.samples_per_cycle, duration_s=bar.elapsed)
                _report(partial, args.output, dev.channels, note=f" (interrupted: {type(e).__name__})")
            raise
        bar.close()
        _report(rec, args.output, dev.channels)


def _configure(dev, args):
    channels = _int_list(args.channels, "--channels") if args.channels else list(range(dev.channels))
    rising = args.rising or not args.falling
    delays = _per_channel(args.delay_ps, channels, "--delay-ps")
    dead_times = _per_channel(args.dead_time_ps, channels, "--dead-time-ps")
    for c in range(dev.channels):
        if c not in channels:
            dev.configure(c, enable=False, rising=False)
    for c, delay, dead_time in zip(channels, delays, dead_times):
        dev.configure(c, rising=rising, falling=args.falling, delay_ps=delay, dead_time_ps=dead_time)


def _int_list(text, option):
    try:
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise ValueError(f"{option} takes comma-separated integers, not {text!r}") from None


def _per_channel(text, channels, option):
    """One value for every channel, or one per channel."""
    values = _int_list(text, option)
    if len(values) == 1:
        return values * len(channels)
    if len(values) != len(channels):
        raise ValueError(f"{option} takes one value or one per channel ({len(channels)}), not {len(values)}")
    return values


def _report(rec, output, channels, note=""):
    rec.save(output)
    node = "" if rec.node_duration_s is None else f" ({rec.node_duration_s:.4g} s of node time)"
    print(f"recorded {len(rec):,} tags in {rec.duration_s or 0.0:.2f} s{node} to {output}{note}")
    counts, lost = rec.per_channel(channels)
    duration = rec.rate_duration_s or 0.0
    rows = [[c, f"{counts[c]:,}", f"{lost[c]:,}", _rate(counts[c] / duration) if duration else "-"]
            for c in range(channels)]
    _table(["channel", "tags", "lost", "rate"], rows)
    print(f"missing records: {rec.missing_total:,} in {len(rec.gaps)} gaps; "
          f"overflow markers: {len(rec.overflows)}; corrupt frames: {rec.bad_frames}")


def _rate(hz):
    for scale, prefix in ((1e6, "M"), (1e3, "k")):
        if hz >= scale:
            return f"{hz / scale:.3f} {prefix}Hz"
    return f"{hz:.1f} Hz"


class _ProgressBar:
    """A tqdm bar on stderr for a recording: seconds against ``duration_s``, or tags
    against ``max_tags`` when there is no duration."""

    def __init__(self, duration_s, max_tags):
        from tqdm import tqdm
        self.duration_s, self.max_tags = duration_s, max_tags
        self.elapsed = 0.0
        by_time = bool(duration_s)
        self._bar = tqdm(total=duration_s if by_time else max_tags, unit="s" if by_time else " tags",
                         bar_format="{l_bar}{bar}| {n:.1f}/{total:g} s {postfix}" if by_time else None,
                         file=sys.stderr, mininterval=0.1, leave=False, dynamic_ncols=True)

    def update(self, elapsed, tags):
        self.elapsed = elapsed
        self._bar.n = min(elapsed, self.duration_s) if self.duration_s else min(tags, self.max_tags)
        self._bar.set_postfix_str(f"{tags:,} tags", refresh=False)
        self._bar.refresh()

    def close(self):
        self._bar.close()


def add_tags(sub):
    p = sub.add_parser("tags", help="record tags to an .npz file, then print a count-rate table",
                       description="Configure the channels (unless --keep-config), stream tags for "
                                   "--duration seconds (or until --max-tags), save them with every "
                                   "loss and gap, and print tags, lost events and rate per channel.")
    _add_port_options(p)
    p.add_argument("--duration", type=float, metavar="S", help="seconds to record (default 1, or no limit "
                                                                "with --max-tags)")
    p.add_argument("--max-tags", type=int, help="stop once this many tags are in (or after --duration)")
    p.add_argument("--output", "-o", required=True, metavar="FILE.npz|FILE.ptu",
                   help="where the tags go: .ptu writes PicoQuant T2 (for other tools), anything else .npz")
    p.add_argument("--channels", metavar="0,1,...", help="channels to enable (default: all); others are disabled")
    p.add_argument("--rising", action="store_true", help="tag rising edges (the default)")
    p.add_argument("--falling", action="store_true", help="tag falling edges (with --rising: both)")
    p.add_argument("--delay-ps", default="0", metavar="PS[,PS...]", help="delay, one value or one per channel")
    p.add_argument("--dead-time-ps", default="0", metavar="PS[,PS...]",
                   help="dead time, one value or one per channel (the node applies at least one cycle)")
    p.add_argument("--keep-config", action="store_true", help="record with the channels as the node has them")
    p.set_defaults(func=tags)


# --- qnu calibrate ----------------------------------------------------------------

def calibrate(args):
    with _open(args) as dev:
        try:
            loop = calibrate_loopback(dev, args.channel, period_ps=round(args.period_us * 1e6),
                                      pulses=args.pulses, timeout_s=args.wait)
        except ValueError as e:
            sys.exit(f"qnu calibrate: error: {e}")
        print(loop)


def add_calibrate(sub):
    p = sub.add_parser("calibrate", help="measure the loop from trigger output 0 back to a tagger input",
                       description="With trigger output 0 wired to tagger input --channel, measure the "
                                   "output plus input latency (and the loop cable): the looped pulses' "
                                   "timestamps minus the pulse period starts. Subtract it from timestamps. "
                                   "The pulse period and the channel's settings are restored afterwards.")
    _add_port_options(p)
    p.add_argument("--channel", type=int, required=True, help="the input the loop comes back on")
    p.add_argument("--period-us", type=float, default=40.0, help="pulse period while measuring (default 40 us)")
    p.add_argument("--pulses", type=int, default=16, help="looped pulses to measure (default 16)")
    p.add_argument("--wait", type=float, default=10.0, metavar="S",
                   help="seconds to wait for them (default 10)")
    p.set_defaults(func=calibrate)


# --- qnu attempts -----------------------------------------------------------------

def attempts(args):
    from qnu.host.attempts import AttemptPulse
    from qnu.host.errors import QnuError
    from qnu.regmap import OutputSource
    from qnu.sim.sources import parse_time
    try:
        period_ps = parse_time(args.period)
        pattern = []
        for text in args.pulse:
            parts = text.split(":")
            if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] != "success"):
                raise ValueError(f"--pulse is OUTPUT:OFFSET:WIDTH[:success], not {text!r}")
            pattern.append(AttemptPulse(int(parts[0]), parse_time(parts[1]), parse_time(parts[2]),
                                        on_success=len(parts) == 4))
        if not pattern:
            raise ValueError("give at least one --pulse OUTPUT:OFFSET:WIDTH")
    except ValueError as e:
        sys.exit(f"qnu attempts: error: {e}")
    with _open(args) as dev:
        try:
            for k in sorted({p.output for p in pattern}):
                dev.outputs[k].source = OutputSource.SEQUENCER
            if args.record:
                channels = list(range(dev.channels))
                for c in channels:
                    dev.configure(c, rising=True)
            start = dev.attempts.start(period_ps=period_ps, pattern=pattern, count=args.count,
                                       stop_on=args.stop_on_input, lead_s=args.lead)
        except (ValueError, IndexError, QnuError) as e:
            sys.exit(f"qnu attempts: error: {e}")
        print(f"attempts start at tick {start:,}, every {dev.clock.to_ticks(period_ps):,} ticks "
              f"({period_ps:,} ps), {args.count or 'until stopped'}")
        status, rec = _run_attempts(dev, args)
        print(f"attempts played {status.attempts:,}; stop reason {status.reason.name.lower().replace('_', ' ')}")
        seq = dev.sequencer.status() if dev.features.sequencer else None
        if seq is not None:
            print(f"late events {seq.late:,}, refused {seq.refused:,}")
        if rec is not None:
            _report(rec, args.record, dev.channels)


def _run_attempts(dev, args, settle_s=0.3):
    """Wait for the loop to stop, recording tags meanwhile with --record (and for
    ``settle_s`` after, for the last pulses' tags); (final status, recording or None)."""
    from tqdm import tqdm
    bar = tqdm(total=args.count or None, unit=" attempts", file=sys.stderr, leave=False, mininterval=0.1)

    def show(status):
        bar.n = status.attempts
        bar.refresh()
        return status
    try:
        if not args.record:
            return dev.attempts.wait(timeout_s=args.wait, progress=show), None
        started, idle_since = time.monotonic(), []

        def finished():
            if not show(dev.attempts.status()).running and not idle_since:
                idle_since.append(time.monotonic())
            return (idle_since and time.monotonic() - idle_since[0] >= settle_s) or \
                (args.wait is not None and time.monotonic() - started >= args.wait)
        rec = dev.record(until=finished, poll_s=0.1)
        return dev.attempts.status(), rec
    except KeyboardInterrupt:
        dev.attempts.stop()
        raise
    finally:
        bar.close()


def add_attempts(sub):
    p = sub.add_parser("attempts", help="run the attempt loop: a pattern of pulses every period",
                       description="Replay a pattern of trigger pulses every --period, --count times (or until "
                                   "a rising edge on --stop-on-input, or Ctrl-C), and print the attempts played, "
                                   "the late events and why the loop stopped. With --record, record tags on every "
                                   "input meanwhile and save them as `qnu tags` does.")
    _add_port_options(p)
    p.add_argument("--period", required=True, help="time between attempt starts, e.g. 2us, 5.5us, 800ns")
    p.add_argument("--count", type=int, default=0, help="attempts to run (default 0: until stopped)")
    p.add_argument("--pulse", action="append", default=[], metavar="OUTPUT:OFFSET:WIDTH[:success]",
                   help="a pulse of the pattern, e.g. 0:0ns:20ns; ':success' fires it once when the loop "
                        "stops on its stop input (repeatable)")
    p.add_argument("--stop-on-input", type=int, metavar="C", help="a rising edge on input C stops the loop")
    p.add_argument("--record", metavar="FILE.npz", help="record tags on every input while the attempts run")
    p.add_argument("--lead", type=float, default=0.01, metavar="S",
                   help="node seconds from now to the first attempt (default 0.01)")
    p.add_argument("--wait", type=float, default=None, metavar="S", help="give up after S seconds")
    p.set_defaults(func=attempts)


SUBCOMMANDS = [add_info, add_regs, add_tags, add_calibrate, add_attempts]
