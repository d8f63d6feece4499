"""``qnu sim serve``: run the virtual board until interrupted.

Kept free of heavy imports at module level: the ``qnu`` command line builds
its parser from here on every run.
"""

import signal
import sys
import time

from qnu.units import SAMPLES_PER_CYCLE_CHOICES

__all__ = ["add_parser"]


def add_parser(sub):
    sim = sub.add_parser("sim", help="the virtual board: the node's gateware in a simulator")
    sim_sub = sim.add_subparsers(dest="sim_command", metavar="SIM_COMMAND")
    sim_sub.required = True
    p = sim_sub.add_parser("serve", help="serve a simulated node on a pseudo-terminal until interrupted",
                           description="Run the node's gateware in a simulator and expose its UART on a "
                                       "pseudo-terminal that any serial program can open.")
    p.add_argument("--backend", choices=("verilator", "amaranth"), default="verilator",
                   help="verilator: compiled, fast (default); amaranth: portable, slow")
    p.add_argument("--channels", type=int, default=4)
    p.add_argument("--samples-per-cycle", type=int, choices=SAMPLES_PER_CYCLE_CHOICES, default=4)
    p.add_argument("--clock-hz", type=int, default=100_000_000, help="system clock of the simulated node")
    p.add_argument("--divisor", type=int, default=None,
                   help="UART clock cycles per bit (default 8: a fast simulated link)")
    p.add_argument("--source", action="append", default=[], metavar="SPEC",
                   help="an input source, e.g. 0:poisson:rate=1e6, 1:periodic:period=1us, "
                        "2,3:pair:rate=5e5,delay=12.5ns,jitter=300ps,efficiency=0.5,noise=100, "
                        "0:dark:rate=20 (repeatable)")
    p.add_argument("--loopback", action="append", default=[], metavar="OUT:IN[:DELAY]",
                   help="a cable from trigger output OUT to tagger input IN, DELAY long (default 5ns), "
                        "e.g. 0:1 or 0:3:12.5ns (repeatable)")
    p.add_argument("--outputs", type=int, default=4, help="trigger outputs of the simulated node")
    p.add_argument("--config", metavar="FILE", help="sources (and seed) from a TOML or JSON file")
    p.add_argument("--seed", type=int, default=None, help="random seed of the sources")
    p.add_argument("--edge-log", metavar="FILE", help="write every input transition driven (channel time_ps level)")
    p.add_argument("--dg645", metavar="OUT:IN[:CABLE],...",
                   help="also serve a simulated DG645 on a local socket whose outputs drive these inputs, "
                        "e.g. A:0,B:1:12.5ns (outputs T0, A..H, AB, CD, EF, GH); prints its VISA resource")
    p.add_argument("--dg645-jitter", default="25ps", metavar="TIME", help="the DG645's output jitter, RMS")
    p.add_argument("--dg645-port", type=int, default=0, help="its TCP port (default: any free one)")
    p.add_argument("--generator", metavar="OUT:IN[:CABLE],...",
                   help="also serve a simulated 33522B waveform generator whose outputs 1 and 2 drive these "
                        "inputs, e.g. 1:0 or 1:0,2:3:5ns; prints its VISA resource")
    p.add_argument("--generator-jitter", default="30ps", metavar="TIME", help="the generator's edge jitter, RMS")
    p.add_argument("--generator-port", type=int, default=0, help="its TCP port (default: any free one)")
    p.add_argument("--status", type=float, default=0, metavar="SECONDS",
                   help="print the simulation speed every SECONDS")
    p.set_defaults(func=serve)


def serve(args):
    from .sources import load_config, parse_source
    from .virtual_board import DEFAULT_DIVISOR, BoardError, VirtualBoard, parse_loopback

    from .sources import parse_time
    instruments = []
    try:
        sources, seed = load_config(args.config) if args.config else ([], None)
        sources += [parse_source(text) for text in args.source]
        loopbacks = [parse_loopback(text) for text in args.loopback]
        if args.dg645:
            from .instruments.dg645_model import DG645Model, parse_wiring
            model = DG645Model(parse_wiring(args.dg645), jitter_ps=parse_time(args.dg645_jitter))
            sources.append(model)
            instruments.append(("DG645", model, args.dg645_port))
        if args.generator:
            from .instruments.generator_model import GeneratorModel, parse_generator_wiring
            model = GeneratorModel(parse_generator_wiring(args.generator), jitter_ps=parse_time(args.generator_jitter))
            sources.append(model)
            instruments.append(("33522B generator", model, args.generator_port))
    except (OSError, ValueError) as e:
        sys.exit(f"qnu sim serve: {e}")
    if instruments and args.backend != "verilator":
        sys.exit("qnu sim serve: simulated instruments need the verilator backend")
    board = VirtualBoard(backend=args.backend, channels=args.channels, samples_per_cycle=args.samples_per_cycle,
                         clock_hz=args.clock_hz, divisor=args.divisor or DEFAULT_DIVISOR, sources=sources,
                         seed=args.seed if args.seed is not None else seed, edge_log=args.edge_log,
                         log=lambda text: print(text, file=sys.stderr, flush=True), loopbacks=loopbacks,
                         outputs=args.outputs, live=bool(instruments))
    # stop cleanly on any of these, even if started with them ignored (`cmd &` ignores SIGINT)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    servers = []
    try:
        board.start()
        print(f"serving node on {board.path} ({board.describe()}); Ctrl-C to stop", flush=True)
        from .instruments.server import InstrumentServer
        for name, model, port in instruments:
            servers.append(InstrumentServer(model, port=port).start())
            print(f"serving {name} on {servers[-1].resource} (outputs to inputs: "
                  f"{', '.join(f'{w.output}->{w.channel}' for w in model.wiring)})", flush=True)
        last = time.monotonic()
        while True:
            board.check()
            time.sleep(0.2)
            if args.status and time.monotonic() - last >= args.status:
                last = time.monotonic()
                print(_speed(board.status()), flush=True)
    except KeyboardInterrupt:
        pass
    except (BoardError, RuntimeError, ValueError) as e:
        sys.exit(f"qnu sim serve: {e}")
    finally:
        for server in servers:
            server.close()
        final = board.close()
    if final:
        print(f"stopped: {_speed(final)}", flush=True)


def _speed(status):
    return (f"{status.get('cycles', 0):,} cycles, {status.get('cycles_per_second', 0):,.0f} cycles/s, "
            f"{status.get('bytes_in', 0)} bytes in, {status.get('bytes_out', 0)} bytes out")
