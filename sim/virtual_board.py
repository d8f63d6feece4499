"""The virtual board: the Node's gateware in a simulator, its UART on a pseudo-terminal.

Any serial program opens :attr:`VirtualBoard.path` as it would a board; the
bytes go bit by bit through the gateware's UART and protocol engine. Inputs
come from :mod:`qnu.sim.sources`. Two backends: ``verilator`` (a compiled
harness, millions of cycles per second) and ``amaranth`` (portable, slow).

    with VirtualBoard(sources=[parse_source("0:poisson:rate=1e6")]) as board:
        print(board.path)
        board.serve_forever()
"""

from qnu.errors import QnuError
import os
import signal
import struct
from dataclasses import dataclass
import threading
import time
import tty

from qnu.units import TickClock
from .edge_log import EdgeLogWriter
from .stream import StimulusStream

__all__ = ["VirtualBoard", "BoardError", "BACKENDS", "DEFAULT_DIVISOR", "Loopback", "parse_loopback",
           "DEFAULT_CABLE_PS"]

BACKENDS = ("verilator", "amaranth")
DEFAULT_DIVISOR = 8     # clock cycles per UART bit: a fast link keeps simulated waits short


DEFAULT_CABLE_PS = 5_000     # a loopback cable's default delay: about 1 m of coax


class BoardError(QnuError, RuntimeError):
    """The virtual board could not start, or its simulator died."""


@dataclass(frozen=True)
class Loopback:
    """A cable from trigger output ``output`` to tagger input ``channel``, ``delay_ps`` long
    (rounded to whole fine ticks by the board)."""
    output: int
    channel: int
    delay_ps: int = DEFAULT_CABLE_PS


def parse_loopback(text):
    """A Loopback from ``OUT:IN[:DELAY]`` (DELAY with a unit: 5ns, 2500ps; default 5 ns)."""
    from .wiring import parse_wire

    def output(text):
        if not text.strip().isdigit():
            raise ValueError(f"a loopback's output is a trigger output's number, not {text!r}")
        return int(text)
    return Loopback(*parse_wire(text, what="a loopback", example="0:1 or 0:1:12.5ns", output=output,
                                default_cable_ps=DEFAULT_CABLE_PS))


class _Feed:
    """The stimulus stream, writing each chunk's transitions to the edge log."""

    def __init__(self, stream, edge_log):
        self.stream, self.edge_log = stream, edge_log
        self.idle, self.word_bytes = stream.idle, stream.word_bytes
        self.lock = threading.Lock()

    def next_chunk(self):
        with self.lock:
            chunk = self.stream.next_chunk()
            if self.edge_log:
                self.edge_log.write(self.stream.last_transitions)
            return chunk

    def to_bytes(self, chunk):
        return self.stream.to_bytes(chunk)


class _PacedFeed(_Feed):
    """A feed for sources that change while the board runs (simulated instruments):
    it stays at most ``ahead`` chunks ahead of the simulation, which reports how
    far it got on the harness's outputs pipe, so that a command sent to an
    instrument reaches the inputs within a chunk or two of simulated time."""

    RECORD = struct.Struct("<QQ")
    DONE = 1 << 63

    def __init__(self, stream, edge_log, read_fd, ahead=2):
        super().__init__(stream, edge_log)
        self.idle = False               # (stimulus or not, the simulation waits for each chunk)
        self.read_fd, self.ahead = read_fd, ahead
        self.done_before = 0
        self._ends = []
        # instruments that watch the board: output_listeners(records of (cycle, word)) hear every
        # change of the trigger outputs' word; input_listeners({channel: transition ps}) every
        # chunk's input transitions (each channel's levels alternate, from low at time 0)
        self.output_listeners, self.input_listeners = [], []
        self._cond = threading.Condition()
        self.stopping = False
        threading.Thread(target=self._read_progress, name="vboard progress", daemon=True).start()

    def _read_progress(self):
        pending = b""
        try:
            with os.fdopen(self.read_fd, "rb", buffering=0, closefd=False) as f:
                while data := f.read(1 << 16):
                    pending += data
                    whole = len(pending) // 16 * 16
                    records = list(self.RECORD.iter_unpack(pending[:whole]))
                    pending = pending[whole:]
                    done = [c & ~self.DONE for c, _ in records if c & self.DONE]
                    words = [r for r in records if not r[0] & self.DONE]
                    if words:
                        for listener in self.output_listeners:
                            listener(words)
                    if done:
                        with self._cond:
                            self.done_before = max(self.done_before, done[-1])
                            self._cond.notify_all()
        except (OSError, ValueError):
            pass
        with self._cond:
            self.stopping = True
            self._cond.notify_all()

    def next_chunk(self):
        if len(self._ends) >= self.ahead:
            target = self._ends[-self.ahead]
            with self._cond:
                self._cond.wait_for(lambda: self.done_before >= target or self.stopping)
        chunk = super().next_chunk()
        for listener in self.input_listeners:
            listener(self.stream.last_transitions)
        self._ends.append(chunk.end_cycle)
        del self._ends[:-self.ahead]
        return chunk

    def stop(self):
        with self._cond:
            self.stopping = True
            self._cond.notify_all()

    def now_ps(self, bin_ps, samples_per_cycle):
        """How far the simulation got, ps."""
        return self.done_before * samples_per_cycle * bin_ps


class VirtualBoard:
    """A simulated node on a pseudo-terminal; a context manager (start on enter, close on exit).

    ``divisor`` is the UART bit time in clock cycles, ``sources`` the inputs
    (see :mod:`qnu.sim.sources`), ``edge_log`` a file for every transition
    driven (see :mod:`qnu.sim.edge_log`), ``log`` a callable told of slow
    steps (the harness build). ``node`` replaces the default
    ``Node(channels, samples_per_cycle, clock_hz, uart_divisor=divisor, build_id)``
    (with the same channels, samples per cycle and clock). ``live``: some
    sources change while the board runs (simulated instruments that a host
    commands): the stimulus is paced to the simulation (Verilator only).
    """

    def __init__(self, *, backend="verilator", channels=4, samples_per_cycle=4, clock_hz=100_000_000,
                 divisor=DEFAULT_DIVISOR, sources=(), seed=None, edge_log=None, build_id=0, node=None,
                 log=None, loopbacks=(), outputs=4, feed=None, outputs_fd=None, live=False,
                 probe_file=None):
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}: one of {', '.join(BACKENDS)}")
        self.backend_name = backend
        self.channels, self.samples_per_cycle, self.clock_hz = channels, samples_per_cycle, clock_hz
        self.divisor = divisor
        self.clock = TickClock(clock_hz, samples_per_cycle)
        self.sources = list(sources)
        self.stream = StimulusStream(self.sources, channels=channels, samples_per_cycle=samples_per_cycle,
                                     bin_ps=self.clock.bin_ps, seed=seed)
        self._edge_log_path, self._build_id, self._node = edge_log, build_id, node
        self.outputs = outputs
        self._custom_feed, self._outputs_fd = feed, outputs_fd     # (a co-simulation's)
        self._probe_file = probe_file       # (each cycle's time, from a node built with probe=True)
        if live and (backend != "verilator" or feed is not None or outputs_fd is not None):
            raise ValueError("a live board (simulated instruments) runs on the verilator backend, alone")
        self.live = live
        self._progress_fds = None
        self.loopbacks = [lb if isinstance(lb, Loopback) else Loopback(*lb) for lb in loopbacks]
        for lb in self.loopbacks:
            if not 0 <= lb.channel < channels:
                raise ValueError(f"loopback {lb}: input {lb.channel} does not exist ({channels} channels)")
        self._log = log or (lambda text: None)
        self.backend = None
        self.path = None
        self._master = self._slave = None
        self._feed = None
        self._close_lock = threading.Lock()

    def _make_node(self):
        if self._node is not None:
            return self._node
        from qnu.gateware.node import Node
        from qnu.regmap import Features
        return Node(channels=self.channels, samples_per_cycle=self.samples_per_cycle, clock_hz=self.clock_hz,
                    uart_divisor=self.divisor, build_id=self._build_id,
                    features=Features(outputs=self.outputs, sequencer=True, attempts=True, herald=True, sync=True))

    def start(self):
        """Open the pty and start the simulator; returns the device path."""
        if self.backend_name == "verilator":
            from .harness_build import require_verilator
            require_verilator()             # before elaborating anything: a clear error first
        node = self._make_node()
        outputs = node.features.outputs
        for lb in self.loopbacks:
            if not 0 <= lb.output < outputs:
                raise ValueError(f"loopback {lb}: trigger output {lb.output} does not exist ({outputs} outputs)")
        cables = [(lb.output, lb.channel, self.clock.to_ticks(lb.delay_ps)) for lb in self.loopbacks]
        self.divisor = getattr(node, "uart_divisor", self.divisor)     # the bridge must match the gateware
        self._master, self._slave = os.openpty()
        # raw: bytes pass unchanged, no echo. Holding the slave open keeps the pty
        # alive between clients, as a USB serial adapter stays plugged in.
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        edge_log = self._edge_log_path and EdgeLogWriter(self._edge_log_path, channels=self.channels,
                                                         bin_ps=self.clock.bin_ps)
        if self.live:
            self._progress_fds = os.pipe()
            feed = self._feed = _PacedFeed(self.stream, edge_log, self._progress_fds[0])
        else:
            feed = self._feed = self._custom_feed or _Feed(self.stream, edge_log)
        outputs_fd = self._progress_fds[1] if self.live else self._outputs_fd
        try:
            if self.backend_name == "verilator":
                from .vboard_verilator import VerilatorBackend
                self.backend = VerilatorBackend(node, feed, self._master, divisor=self.divisor, log=self._log,
                                                loopbacks=cables, outputs_fd=outputs_fd,
                                                probe_file=self._probe_file)
            else:
                from .vboard_amaranth import AmaranthBackend
                self.backend = AmaranthBackend(node, feed, self._master, divisor=self.divisor, loopbacks=cables)
            self.backend.start()
            if self._progress_fds:              # (the harness holds its own copy: EOF when it stops)
                os.close(self._progress_fds[1])
                self._progress_fds = (self._progress_fds[0],)
        except Exception:
            self.close()
            raise
        return self.path

    def watch(self, *, outputs=None, inputs=None):
        """Let an instrument see the board (a live board's): ``outputs(records)`` hears each change
        of the trigger outputs' word, ``inputs(transitions)`` each chunk's input transitions."""
        if not isinstance(self._feed, _PacedFeed):
            raise ValueError("only a live board, started, can be watched")
        if outputs:
            self._feed.output_listeners.append(outputs)
        if inputs:
            self._feed.input_listeners.append(inputs)

    def now_ps(self):
        """How far a live board's simulation got, ps."""
        return self._feed.now_ps(float(self.clock.bin_ps), self.samples_per_cycle)

    def describe(self):
        return (f"{self.backend_name} backend, {self.channels} channels, {self.samples_per_cycle} samples/cycle, "
                f"{self.clock_hz / 1e6:g} MHz, {float(self.clock.bin_ps):g} ps bins, UART {self.divisor} "
                f"cycles/bit, {len(self.sources)} source(s)" +
                "".join(f", output {lb.output} looped to input {lb.channel} ({lb.delay_ps} ps)"
                        for lb in self.loopbacks))

    def status(self):
        """Counters of the running simulator: cycles, cycles_per_second, bytes_in, bytes_out..."""
        return self.backend.status()

    def check(self):
        """Raise BoardError if the simulator died."""
        reason = self.backend.died() if self.backend else None
        if reason:
            raise BoardError(reason)

    def serve_forever(self, poll_s=0.2):
        """Run until SIGINT or SIGTERM (KeyboardInterrupt) or until the simulator dies (BoardError)."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, signal.default_int_handler)
        while True:
            self.check()
            time.sleep(poll_s)

    def close(self):
        """Stop the simulator and release the pty; returns the final counters.

        Safe to call again, and from another thread (a test pulling the
        cable while the owner is still using the board)."""
        with self._close_lock:
            final = {}
            if isinstance(self._feed, _PacedFeed):
                self._feed.stop()               # (a feeder waiting for progress lets go)
            if self.backend is not None:
                final = self.backend.stop()
                self.backend = None
            for fd in self._progress_fds or ():
                os.close(fd)
            self._progress_fds = None
            for fd in (self._master, self._slave):
                if fd is not None:
                    os.close(fd)
            self._master = self._slave = None
            if self._feed is not None:
                with self._feed.lock:           # a feeder thread may still be writing to it
                    if self._feed.edge_log:
                        self._feed.edge_log.close()
                    self._feed.edge_log = None
                self._feed = None
            return final

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()
