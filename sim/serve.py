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
    p.add_argument("--counter", metavar="IN:SIGNAL,...",
                   help="also serve a simulated 53230A counter whose inputs 1 and 2 watch a node's trigger "
                        "output or input, e.g. 1:OUT0,2:IN3 (with --nodes 2: 1:A.OUT0,2:B.OUT0)")
    p.add_argument("--counter-noise", default="20ps", metavar="TIME", help="the counter's single-shot error, RMS")
    p.add_argument("--counter-port", type=int, default=0, help="its TCP port (default: any free one)")
    p.add_argument("--nodes", type=int, default=1,
                   help="serve this many nodes (A, B, ...), each on its own pty; sources, loopbacks and the "
                        "DG645 and generator drive node A")
    p.add_argument("--link", metavar="FILE",
                   help="serve the link co-simulation's three boards instead (A, B and the station, cabled as "
                        "docs/link.md says; a link file as examples/link.toml), each on its own pty; the counter "
                        "may watch them, e.g. 1:A.OUT0,2:B.OUT0")
    p.add_argument("--status", type=float, default=0, metavar="SECONDS",
                   help="print the simulation speed every SECONDS")
    p.set_defaults(func=serve)


def serve(args):
    if args.link:
        return serve_link(args)
    from .sources import load_config, parse_source, parse_time
    from .virtual_board import DEFAULT_DIVISOR, BoardError, VirtualBoard, parse_loopback

    names = [""] if args.nodes == 1 else [chr(ord("A") + i) for i in range(args.nodes)]
    instruments = []        # (name, model, TCP port, attach): attach(boards) after they start
    try:
        if not 1 <= args.nodes <= 4:
            raise ValueError(f"--nodes is 1 to 4, not {args.nodes}")
        sources, seed = load_config(args.config) if args.config else ([], None)
        sources += [parse_source(text) for text in args.source]
        loopbacks = [parse_loopback(text) for text in args.loopback]
        if args.dg645:
            from .instruments.dg645_model import DG645Model, parse_wiring
            model = DG645Model(parse_wiring(args.dg645), jitter_ps=parse_time(args.dg645_jitter))
            sources.append(model)
            instruments.append(("DG645", model, args.dg645_port, None))
        if args.generator:
            from .instruments.generator_model import GeneratorModel, parse_generator_wiring
            model = GeneratorModel(parse_generator_wiring(args.generator), jitter_ps=parse_time(args.generator_jitter))
            sources.append(model)
            instruments.append(("33522B generator", model, args.generator_port, None))
        if args.counter:
            from .instruments.counter_model import CounterModel, parse_counter_wiring
            model = CounterModel(parse_counter_wiring(args.counter, names), noise_ps=parse_time(args.counter_noise))
            instruments.append(("53230A counter", model, args.counter_port, model.attach))
    except (OSError, ValueError) as e:
        sys.exit(f"qnu sim serve: {e}")
    if instruments and args.backend != "verilator":
        sys.exit("qnu sim serve: simulated instruments need the verilator backend")
    # the sources, loopbacks and source-like instruments (DG645, generator) are the first board's
    boards = {name: VirtualBoard(backend=args.backend, channels=args.channels,
                                 samples_per_cycle=args.samples_per_cycle, clock_hz=args.clock_hz,
                                 divisor=args.divisor or DEFAULT_DIVISOR, sources=sources if i == 0 else [],
                                 seed=args.seed if args.seed is not None else seed,
                                 edge_log=args.edge_log if i == 0 else None,
                                 log=lambda text: print(text, file=sys.stderr, flush=True),
                                 loopbacks=loopbacks if i == 0 else [], outputs=args.outputs,
                                 live=bool(instruments))
              for i, name in enumerate(names)}
    # stop cleanly on any of these, even if started with them ignored (`cmd &` ignores SIGINT)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    servers, started = [], []
    try:
        for name, board in boards.items():
            board.start()
            started.append(board)
            label = f"node {name} on" if name else "node on"
            print(f"serving {label} {board.path} ({board.describe()}); Ctrl-C to stop", flush=True)
        from .instruments.server import InstrumentServer
        for name, model, port, attach in instruments:
            if attach:
                attach(boards)
            servers.append(InstrumentServer(model, port=port).start())
            print(f"serving {name} on {servers[-1].resource} ({_wiring(model)})", flush=True)
        last = time.monotonic()
        while True:
            for board in started:
                board.check()
            time.sleep(0.2)
            if args.status and time.monotonic() - last >= args.status:
                last = time.monotonic()
                for name, board in boards.items():
                    print(f"{name + ': ' if name else ''}{_speed(board.status())}", flush=True)
    except KeyboardInterrupt:
        pass
    except (BoardError, RuntimeError, ValueError) as e:
        sys.exit(f"qnu sim serve: {e}")
    finally:
        for server in servers:
            server.close()
        finals = [board.close() for board in started]
    if finals and finals[0]:
        print(f"stopped: {_speed(finals[0])}", flush=True)


def serve_link(args):
    """The link co-simulation's boards, free-running (nothing programmed: the host does that), and a counter."""
    from .cosim import Cosim
    from .link import Link
    from .link_config import load_link
    from .sources import parse_time
    single = [flag for flag, given in (("--source", args.source), ("--loopback", args.loopback),
                                       ("--dg645", args.dg645), ("--generator", args.generator),
                                       ("--config", args.config), ("--edge-log", args.edge_log),
                                       ("--nodes", args.nodes != 1),
                                       ("--backend amaranth", args.backend != "verilator")) if given]
    try:
        if single:
            raise ValueError(f"{', '.join(single)}: not with --link (its boards are the link's, in Verilator)")
        co = Cosim(Link(load_link(args.link)))
        counter = None
        if args.counter:
            from .instruments.counter_model import CounterModel, parse_counter_wiring
            counter = CounterModel(parse_counter_wiring(args.counter, tuple(co.named_boards())),
                                   noise_ps=parse_time(args.counter_noise))
    except (OSError, ValueError) as e:
        sys.exit(f"qnu sim serve: {e}")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    server = None
    try:
        with co:
            for board in co.boards:
                print(f"serving node {board.name} on {board.path} (link co-simulation, {co.chunk}-cycle chunks)",
                      flush=True)
            if counter is not None:
                from .instruments.server import InstrumentServer
                counter.attach(co.named_boards())
                server = InstrumentServer(counter, port=args.counter_port).start()
                print(f"serving 53230A counter on {server.resource} ({_wiring(counter)})", flush=True)
            last = time.monotonic()
            while co.error is None:
                time.sleep(0.2)
                if args.status and time.monotonic() - last >= args.status:
                    last = time.monotonic()
                    print(f"{co.cycle:,} cycles", flush=True)
            sys.exit(f"qnu sim serve: the co-simulation failed: {co.error}")
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.close()


def _wiring(model):
    wires = []
    for w in model.wiring:
        if hasattr(w, "kind"):          # a counter: its input sees a board's signal
            wires.append(f"input {w.input} <- {w.board + '.' if w.board else ''}{w.kind}{w.index}")
        else:
            wires.append(f"{w.output} -> input {w.channel}")
    return ", ".join(wires)


def _speed(status):
    return (f"{status.get('cycles', 0):,} cycles, {status.get('cycles_per_second', 0):,.0f} cycles/s, "
            f"{status.get('bytes_in', 0)} bytes in, {status.get('bytes_out', 0)} bytes out")
