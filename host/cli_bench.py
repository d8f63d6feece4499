"""``qnu bench ...``: bench routines with lab instruments through VISA (:mod:`qnu.host.bench`)."""

import sys

__all__ = ["SUBCOMMANDS"]


def _channels(text):
    try:
        return [int(c) for c in text.split(",") if c.strip()]
    except ValueError:
        raise SystemExit(f"qnu bench: --channels takes numbers like 0,1,2, not {text!r}") from None


def skew(args):
    from qnu.host.bench.skew import SkewNotRemoved, calibrate_skew
    from qnu.host.device import open_device
    from qnu.host.instruments import InstrumentError, open_instrument

    try:
        dg = open_instrument("dg645", args.dg645, timeout_ms=args.timeout_ms)
    except InstrumentError as e:
        sys.exit(f"qnu bench skew: {e}")
    with open_device(args.port, skew=False) as dev:
        try:
            result = calibrate_skew(dev, dg, _channels(args.channels), triggers=args.triggers, rate_hz=args.rate,
                                    output=args.output)
        except SkewNotRemoved as e:
            sys.exit(f"qnu bench skew: {e} (results in {args.output})")
        except (InstrumentError, TimeoutError, ValueError) as e:
            sys.exit(f"qnu bench skew: {e} (the instruments and the node are as they were; what was "
                     f"measured is in {args.output})")
    print(f"{'channel':>7}  {'skew':>10}  {'correction':>10}  {'residual':>9}")
    for c in result.skew_ps:
        print(f"{c:>7}  {result.skew_ps[c]:>8.0f}ps  {result.corrections_ps[c]:>8}ps  {result.residual_ps[c]:>7.0f}ps")
    print(f"residual at most {max(abs(v) for v in result.residual_ps.values()):.0f} ps (one bin: "
          f"{result.bin_ps:g} ps); corrections saved to {result.calibration_path}: applied whenever this node "
          f"is opened")


def jitter(args):
    from qnu.host.bench.jitter import measure_jitter
    from qnu.host.device import open_device
    from qnu.host.instruments import InstrumentError, open_instrument
    from qnu.sim.sources import parse_time

    try:
        gen = open_instrument(args.model, args.generator, timeout_ms=args.timeout_ms)
    except InstrumentError as e:
        sys.exit(f"qnu bench jitter: {e}")
    try:
        period_s = parse_time(args.period) * 1e-12
    except ValueError as e:
        sys.exit(f"qnu bench jitter: {e}")
    with open_device(args.port) as dev:
        try:
            result = measure_jitter(dev, gen, args.channel, generator_channel=args.generator_output,
                                    period_s=period_s, pulses=args.pulses, output=args.output)
        except (InstrumentError, TimeoutError, ValueError) as e:
            sys.exit(f"qnu bench jitter: {e} (the generator and the node are as they were; what was measured "
                     f"is in {args.output})")
    missed = (f"{result['missed_pulses']} missed ({result['lost_by_node']} events the node lost: a shorter "
              f"period than the link carries)" if result["missed_pulses"] else "none missed")
    print(f"channel {args.channel}: {result['pulses_measured']} pulses, period {result['period_ps']:.1f} ps, "
          f"jitter {result['rms_ps']:.1f} ps RMS, {result['peak_to_peak_ps']:.0f} ps peak to peak "
          f"(bin {result['bin_ps']:g} ps: bin/sqrt(12) = {result['bin_ps'] / 12 ** 0.5:.0f} ps); {missed}")


def _times(text, what):
    """``0ns:100ns:5ns`` (start:stop:step, stop excluded) or ``10ns,20ns`` -> ps."""
    from qnu.sim.sources import parse_time
    try:
        if ":" in text:
            start, stop, step = (parse_time(t) for t in text.split(":"))
            if step <= 0 or stop <= start:
                raise ValueError
            return list(range(start, stop, step))
        return [parse_time(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise SystemExit(f"qnu bench: {what} takes START:STOP:STEP or a list, with units (0ns:100ns:5ns), "
                         f"not {text!r}") from None


def window_scan(args):
    from qnu.host.bench.window_scan import scan_windows
    from qnu.host.device import open_device
    from qnu.host.errors import QnuError

    offsets, widths = _times(args.offsets, "--offsets"), _times(args.widths, "--widths")
    with open_device(args.port) as dev:
        try:
            result = scan_windows(dev, detectors=_channels(args.detectors), offsets_ps=offsets, widths_ps=widths,
                                  laser_output=args.laser_output, scheme=args.scheme, attempts=args.attempts,
                                  period_ps=_times(args.period, "--period")[0], output=args.output)
        except (QnuError, RuntimeError, ValueError) as e:
            sys.exit(f"qnu bench window-scan: {e} (the node is as it was; what was measured is in {args.output})")
    print(f"{'offset':>9} {'width':>8}  {'heralds/attempt':>16}  {'false (blocked)':>16}")
    for p in result["points"]:
        print(f"{p['offset_ps'] / 1e3:>7.1f} ns {p['width_ps'] / 1e3:>5.1f} ns  "
              f"{p['signal']['p']:>8.4f} +- {p['signal']['error']:.4f}  {p['blocked']['p']:>8.4f} +- "
              f"{p['blocked']['error']:.4f}")
    best = max(result["points"], key=lambda p: p["signal"]["p"] - p["blocked"]["p"])
    print(f"best window: {best['offset_ps'] / 1e3:.1f} ns wide {best['width_ps'] / 1e3:.1f} ns "
          f"(results in {args.output})")


def sync_check(args):
    from qnu.host.bench.sync_check import check_sync
    from qnu.host.device import open_device
    from qnu.host.errors import QnuError
    from qnu.host.instruments import InstrumentError, open_instrument

    period_ps = _times(args.period, "--period")[0]
    try:
        counter = open_instrument(args.model, args.counter, timeout_ms=args.timeout_ms)
    except InstrumentError as e:
        sys.exit(f"qnu bench sync-check: {e}")
    with open_device(args.port_a) as a, open_device(args.port_b) as b:
        try:
            result = check_sync(a, b, counter, period_s=period_ps * 1e-12, readings=args.readings,
                                output_index=args.output_index, output=args.output)
        except (InstrumentError, QnuError, ValueError) as e:
            sys.exit(f"qnu bench sync-check: {e} (the nodes are as they were; what was measured is in "
                     f"{args.output})")
    tdev = ", ".join(f"{t:g} s: {d * 1e12:.1f} ps" for t, d in result["tdev"][:4])
    print(f"B after A: mean {result['mean_ps']:.1f} ps, RMS {result['rms_ps']:.1f} ps over {args.readings} "
          f"readings; TDEV {tdev} (results in {args.output})")


def add_bench(sub):
    bench = sub.add_parser("bench", help="bench routines with lab instruments through VISA")
    bench_sub = bench.add_subparsers(dest="bench_command", metavar="ROUTINE")
    bench_sub.required = True
    p = bench_sub.add_parser("skew", help="measure and remove channel skew with a DG645's simultaneous pulses",
                             description="The DG645 fires all its outputs at once into the node's inputs; "
                                         "each channel's skew is measured from the tags, corrected with its "
                                         "delay, checked again (at most one bin left) and saved for this node.")
    p.add_argument("--port", required=True, help="the node's serial port")
    p.add_argument("--dg645", required=True, metavar="RESOURCE", help="the DG645's VISA resource string")
    p.add_argument("--channels", required=True, metavar="0,1,...", help="the node's inputs the DG645 drives; "
                                                                        "the first is the reference")
    p.add_argument("--triggers", type=int, default=200, help="pulses per channel in each pass")
    p.add_argument("--rate", type=float, default=10e3, metavar="HZ", help="the DG645's trigger rate")
    p.add_argument("--output", "-o", default="build/bench", metavar="DIR", help="where skew.json and skew.png go")
    p.add_argument("--timeout-ms", type=int, default=2000, help="VISA timeout")
    p.set_defaults(func=skew)

    p = bench_sub.add_parser("jitter", help="a channel's timestamp jitter against a generator's pulse train",
                             description="A waveform generator sends a pulse train into the channel; the tags' "
                                         "residuals from the fitted ideal period are the jitter (histogram, RMS).")
    p.add_argument("--port", required=True, help="the node's serial port")
    p.add_argument("--generator", required=True, metavar="RESOURCE", help="the generator's VISA resource")
    p.add_argument("--model", default="33500b", choices=("33500b", "33600a"), help="the generator's series")
    p.add_argument("--generator-output", type=int, default=1, choices=(1, 2), help="its output wired to the channel")
    p.add_argument("--channel", type=int, required=True, help="the node's input")
    p.add_argument("--period", default="10us", help="the pulse train's period (with a unit)")
    p.add_argument("--pulses", type=int, default=1000)
    p.add_argument("--output", "-o", default="build/bench", metavar="DIR", help="where jitter.json and .png go")
    p.add_argument("--timeout-ms", type=int, default=2000, help="VISA timeout")
    p.set_defaults(func=jitter)

    p = bench_sub.add_parser("window-scan", help="herald success and false-herald rates against the window",
                             description="For each window the attempt loop runs with its excitation pulse and "
                                         "with it blocked; the herald unit's counters give the heralds and the "
                                         "false heralds per attempt.")
    p.add_argument("--port", required=True, help="the node's serial port")
    p.add_argument("--detectors", default="0,1", metavar="C,C", help="the detectors' input channels")
    p.add_argument("--scheme", default="single-click", choices=("single-click",),
                   help="the herald scheme (one window)")
    p.add_argument("--laser-output", type=int, default=0, help="the output that fires the excitation")
    p.add_argument("--offsets", default="0ns:100ns:10ns", help="window offsets: START:STOP:STEP or a list")
    p.add_argument("--widths", default="20ns", help="window widths: START:STOP:STEP or a list")
    p.add_argument("--attempts", type=int, default=1000, help="attempts per window and pass")
    p.add_argument("--period", default="10us", help="the attempt period")
    p.add_argument("--output", "-o", default="build/bench", metavar="DIR")
    p.set_defaults(func=window_scan)

    p = bench_sub.add_parser("sync-check", help="a counter's time interval between two nodes' pulse outputs",
                             description="Both nodes' output carries their pulse per period; the counter "
                                         "measures node B's pulse after node A's: mean, RMS and TDEV.")
    p.add_argument("--port-a", required=True, help="node A's serial port (counter input 1)")
    p.add_argument("--port-b", required=True, help="node B's serial port (counter input 2)")
    p.add_argument("--counter", required=True, metavar="RESOURCE", help="the counter's VISA resource")
    p.add_argument("--model", default="53230a", choices=("53220a", "53230a"), help="the counter's model")
    p.add_argument("--period", default="1s", help="the pulse period (a PPS: 1s)")
    p.add_argument("--readings", type=int, default=100)
    p.add_argument("--output-index", type=int, default=0, help="the nodes' output wired to the counter")
    p.add_argument("--output", "-o", default="build/bench", metavar="DIR")
    p.add_argument("--timeout-ms", type=int, default=60_000, help="VISA timeout (a reading waits for a pulse)")
    p.set_defaults(func=sync_check)


SUBCOMMANDS = [add_bench]
