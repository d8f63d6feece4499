"""``qnu sync``: node-to-node sync from the command line (docs/sync.md).

    qnu sync start --port P --up 1:0 --follow       # follow the peer on output 1 / input 0
    qnu sync status --port P
    qnu sync calibrate --port P --up 1:0 --down 0:1 --cables 12.5ns,5ns
    qnu sync sim --nodes 3 --ppm 0,+50,-80 --length 5m,2km --seconds 1ms --output DIR
"""

import sys
import time

from .cli_device import _add_port_options, _open

__all__ = ["SUBCOMMANDS", "parse_pins", "calibrate_latencies"]


def parse_pins(text):
    """``OUTPUT:INPUT`` -> (output, input)."""
    try:
        output, channel = (int(part) for part in text.split(":"))
    except ValueError:
        raise ValueError(f"a port is OUTPUT:INPUT (trigger output, tagger input), not {text!r}") from None
    return output, channel


def _print_status(s):
    print(f"state          {s.state.name.lower()}" + (f" for {s.locked_for_s:.6f} s" if s.locked_for_s else ""))
    print(f"links          up {'up' if s.up_link else 'down'}, down {'up' if s.down_link else 'down'}; "
          f"up peer {s.peer_state.name.lower()}")
    print(f"offset         {s.offset_ps:,.1f} ps (the up peer's time less ours)")
    print(f"delay          {s.delay_ps:,.1f} ps (from here to the up peer)")
    print(f"rate trim      {s.rate_ppb:+,.3f} ppb")
    print("counters       " + ", ".join(f"{name} {n}" for name, n in s.counts.items()))


def status(args):
    with _open(args) as dev:
        _print_status(dev.sync.status())


def start(args):
    try:
        up = parse_pins(args.up) if args.up else None
        down = parse_pins(args.down) if args.down else None
    except ValueError as e:
        sys.exit(f"qnu sync start: error: {e}")
    with _open(args) as dev:
        try:
            dev.sync.configure(up=up, down=down, follow=args.follow, interval_log2=args.interval_log2,
                               kp_shift=args.kp_shift, ki_shift=args.ki_shift, gear=args.gear,
                               lock_threshold_ps=args.lock_threshold_ps, lock_count=args.lock_count,
                               fixed_there_ps=args.fixed_there_ps, fixed_back_ps=args.fixed_back_ps, alpha=args.alpha)
        except ValueError as e:
            sys.exit(f"qnu sync start: error: {e}")
        print(f"sync on: up {args.up or 'off'}{' (following)' if args.follow else ''}, down {args.down or 'off'}")


def stop(args):
    with _open(args) as dev:
        dev.sync.disable()
        print("sync off: both ports off, the timebase runs free")


def calibrate_latencies(dev, up, down, cables_ps, *, exchanges=8, timeout_s=30.0):
    """The node's transmit-plus-receive latency on each path of a self-loop (ps):
    its down port cabled to its up port both ways, cables of known delay. The
    servo measures (estimates only) ``t2 - t1`` (up output, cable 0, down
    input) and ``t4 - t3`` (down output, cable 1, up input); less its cable,
    each is one output's and one input's latency. The sync settings come back."""
    saved = dev.regs.read("sync_ctrl", "sync_up_pins", "sync_down_pins", "sync_fixed_there", "sync_fixed_back",
                          "sync_ratio")
    try:
        dev.sync.configure(up=up, down=down, interval_log2=8)
        start_count = dev.sync.counts()["exchanges"]
        deadline = time.monotonic() + timeout_s
        while dev.sync.counts()["exchanges"] < start_count + exchanges:
            if time.monotonic() > deadline:
                raise TimeoutError("no exchanges: is each port's output cabled to the other's input?")
            time.sleep(0.05)
        s = dev.sync.status()
    finally:
        dev.regs.write({"sync_ctrl": saved["sync_ctrl"] & ~0b111})
        dev.regs.write({name: value for name, value in saved.items() if name != "sync_ctrl"})
        dev.regs.write({"sync_ctrl": saved["sync_ctrl"]})
    there, back = s.delay_ps + s.offset_ps, s.delay_ps - s.offset_ps      # t2 - t1, t4 - t3
    return there - cables_ps[0], back - cables_ps[1]


def calibrate(args):
    from qnu.sim.sources import parse_time
    try:
        up, down = parse_pins(args.up), parse_pins(args.down)
        cables = [parse_time(text) for text in args.cables.split(",")]
        if len(cables) != 2:
            raise ValueError("--cables is UP_TO_DOWN,DOWN_TO_UP (two delays)")
    except ValueError as e:
        sys.exit(f"qnu sync calibrate: error: {e}")
    with _open(args) as dev:
        try:
            there, back = calibrate_latencies(dev, up, down, cables)
        except TimeoutError as e:
            sys.exit(f"qnu sync calibrate: error: {e}")
    print(f"output {up[0]} -> input {down[1]}: {there:,.1f} ps of node latency (transmit + receive)")
    print(f"output {down[0]} -> input {up[1]}: {back:,.1f} ps")
    print("for a link between two boards like this one: --fixed-there-ps and --fixed-back-ps "
          f"{(there + back) / 2:,.1f} (each a transmit and a receive latency)")


def sim_config(args):
    """The SyncSimConfig of ``qnu sync sim``'s arguments (ValueError when they do not fit)."""
    from qnu.sim.sync_cosim import sync_config_from_dict
    options = {"nodes": args.nodes, "length": args.length, "alpha": args.alpha, "seconds": args.seconds,
               "seed": args.seed, "kp_shift": args.kp_shift, "ki_shift": args.ki_shift, "gear": args.gear,
               "lock_count": args.lock_count}
    if args.lock_threshold_ps is not None:
        options["lock_threshold_ps"] = args.lock_threshold_ps
    if args.interval_log2 is not None:
        options["interval_log2"] = args.interval_log2
    if args.ppm:
        options["ppm"] = args.ppm
    if args.pull:
        options["pull"] = args.pull
    if args.witness:
        options["witness"] = True
    return sync_config_from_dict(options)


def simulate(args):
    import json
    from pathlib import Path
    from tqdm import tqdm
    from qnu.sim import sync_plots
    from qnu.sim.sync_cosim import run_sync_sim
    try:
        cfg = sim_config(args)
    except ValueError as e:
        sys.exit(f"qnu sync sim: error: {e}")
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    with tqdm(total=100, desc="sync sim", unit="%", disable=args.quiet) as bar:
        def progress(fraction):
            bar.update(round(fraction * 100) - bar.n)
        results = run_sync_sim(cfg, progress=progress)
    sync_plots.time_error(results["followers"], out / "time_error.png")
    sync_plots.tdev(results["followers"], out / "tdev.png")
    for f in results["followers"]:
        f.pop("series")
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(summary(results))
    if "witness" in results:
        print(witness_summary(results["witness"]))
    print(f"wrote {out / 'results.json'}, {out / 'time_error.png'}, {out / 'tdev.png'}")


def summary(results):
    """A table of the followers' figures."""
    fmt = lambda v, spec: "-" if v is None else format(v, spec)
    lines = [f"{'node':>4} {'ppm':>6} {'lock (us)':>10} {'err mean':>9} {'err rms':>8} {'pps mean':>9} "
             f"{'pps rms':>8}  (ps)"]
    for f in results["followers"]:
        lock = None if f["lock_time_s"] is None else f["lock_time_s"] * 1e6
        lines.append(f"{f['node']:>4} {f['ppm']:>+6g} {fmt(lock, '10.1f')} {fmt(f['time_error_mean_ps'], '9.0f')} "
                     f"{fmt(f['time_error_rms_ps'], '8.0f')} {fmt(f['pps_error_mean_ps'], '9.0f')} "
                     f"{fmt(f['pps_error_rms_ps'], '8.0f')}")
    return "\n".join(lines)


def witness_summary(w):
    """The middle node's tags of the PPS edges against the co-simulation's truth."""
    if not w["pairs"]:
        return "witness: no PPS pair tagged after every follower locked"
    return (f"witness: node 1 tagged {w['pairs']} PPS pairs: last node less leader {w['tagged_mean_ps']:.0f} ps "
            f"mean, {w['tagged_rms_ps']:.0f} ps RMS (physically {w['true_mean_ps']:.0f} / {w['true_rms_ps']:.0f}; "
            f"each pair within {w['max_disagreement_ps']:.0f} ps of the truth, a tick is {w['tick_ps']:.0f})")


def _add_servo_options(s):
    from qnu.sync import DEFAULT_KP_SHIFT, DEFAULT_KI_SHIFT, DEFAULT_GEAR
    s.add_argument("--kp-shift", type=int, default=DEFAULT_KP_SHIFT,
                   help=f"proportional gain 2**-N per exchange (default {DEFAULT_KP_SHIFT})")
    s.add_argument("--ki-shift", type=int, default=DEFAULT_KI_SHIFT,
                   help=f"integral gain 2**-N per exchange (default {DEFAULT_KI_SHIFT})")
    s.add_argument("--gear", type=int, default=DEFAULT_GEAR, help="once locked, up to N gears, a gear at a time, "
                   f"each gains 2x (kp) and 4x (ki) lower (default {DEFAULT_GEAR})")
    s.add_argument("--lock-threshold-ps", type=float, help="the offsets' running average under this counts "
                   "towards lock (default: start one tick, sim 0.06 tick)")
    s.add_argument("--lock-count", type=int, default=8, help="locked after N exchanges in a row (default 8)")


def add_sync(sub):
    p = sub.add_parser("sync", help="node-to-node sync: the peer link's ports and the servo (docs/sync.md)")
    ssub = p.add_subparsers(dest="sync_command", metavar="ACTION")
    ssub.required = True
    s = ssub.add_parser("status", help="the servo's state, offset, delay and rate trim, and the counters")
    _add_port_options(s)
    s.set_defaults(func=status)
    s = ssub.add_parser("start", help="turn the ports on (and follow the up port's peer)")
    _add_port_options(s)
    s.add_argument("--up", metavar="OUT:IN", help="the up port (towards the leader)")
    s.add_argument("--down", metavar="OUT:IN", help="the down port (towards followers)")
    s.add_argument("--follow", action="store_true", help="steer the timebase to the up port's peer")
    s.add_argument("--interval-log2", type=int, default=10, help="a frame every 2**N core cycles (default 10)")
    _add_servo_options(s)
    s.add_argument("--fixed-there-ps", type=float, default=0.0, help="our transmit + the peer's receive latency")
    s.add_argument("--fixed-back-ps", type=float, default=0.0, help="the peer's transmit + our receive latency")
    s.add_argument("--alpha", type=float, default=0.0, help="the fibre's asymmetry (White Rabbit's alpha)")
    s.set_defaults(func=start)
    s = ssub.add_parser("stop", help="both ports off; the timebase runs free")
    _add_port_options(s)
    s.set_defaults(func=stop)
    s = ssub.add_parser("calibrate", help="measure the node's transmit + receive latency on a self-loop",
                        description="Cable the down port's output to the up port's input and the up port's "
                                    "output to the down port's input, with cables of known delay. The node "
                                    "measures both paths with the two-way exchange; less the cables, each is "
                                    "an output's and an input's latency: the fixed latencies of a link "
                                    "between two such boards. The sync settings are restored afterwards.")
    _add_port_options(s)
    s.add_argument("--up", metavar="OUT:IN", required=True)
    s.add_argument("--down", metavar="OUT:IN", required=True)
    s.add_argument("--cables", required=True, metavar="UP_TO_DOWN,DOWN_TO_UP",
                   help="the two cables' delays, e.g. 12.5ns,5ns")
    s.set_defaults(func=calibrate)
    s = ssub.add_parser("sim", help="a chain of nodes with their own oscillators, the gateware in Verilator",
                        description="Node 0 leads; node k+1 follows node k over link k. Each node is the real "
                                    "Node gateware in Verilator with its own free-running oscillator; writes "
                                    "results.json, time_error.png and tdev.png (docs/sync.md).")
    s.add_argument("--nodes", type=int, default=3)
    s.add_argument("--ppm", help="each node's oscillator offset, e.g. 0,+50,-80 (default all 0)")
    s.add_argument("--length", default="5m", help="each link's length in order, e.g. 5m,2km (one: all)")
    s.add_argument("--alpha", type=float, default=0.0, help="the fibres' asymmetry (White Rabbit's alpha)")
    s.add_argument("--seconds", default="300us", help="simulated time (default 300us)")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--interval-log2", type=int, help="a frame every 2**N cycles (default: the longest link's "
                   "round trip, 9 or more)")
    _add_servo_options(s)
    s.add_argument("--pull", metavar="LINK:START:END", help="cut link LINK from START to END, e.g. 0:150us:200us")
    s.add_argument("--witness", action="store_true", help="node 1 tags the leader's PPS (input 2) and the last "
                   "node's (input 3); the host reads the tags over its serial port (results: witness)")
    s.add_argument("--output", required=True, metavar="DIR")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=simulate)


SUBCOMMANDS = [add_sync]
