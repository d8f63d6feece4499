"""Protocol fuzzing of the gateware, in simulation, over a real pseudo-terminal.

One Verilator virtual board serves the whole module. Each hypothesis example
sends the node raw bytes (garbage, corrupted, truncated, oversize frames, bad
escapes, well-formed requests with bad arguments, good requests), then an END
and a good frame, and checks against the reference model
(:mod:`qnu.sim.protocol_model`): every reply in order with its code and
detail, the good frame answered (or the node hung), every ``err_*`` counter
moved by exactly the predicted amount, and no register changed except by a
good WRITE. Then the same checks on a list of boundary cases, one by one, and
two deterministic bursts: 5 kB of garbage, and requests fast enough to
overrun the node's receive buffer.

Needs Verilator (tools/verilator.sh): without it these tests fail, they are
not skipped.
"""

import random
import struct
import time

import pytest
import serial
from hypothesis import HealthCheck, given, seed, settings, strategies as st

from qnu import wire
from qnu.gateware.node import RX_BUFFER
from qnu.gateware.node import Node
from qnu.regmap import Features, register_map
from qnu.sim.harness_build import HarnessBuildError
from qnu.sim.protocol_model import COUNTERS, FrameSplitter, NodeModel
from qnu.sim.virtual_board import VirtualBoard
from qnu.wire import END, ESC, ESC_END, ESC_ESC, Command, ErrorCode, Reply

CHANNELS = 4
DIVISOR = 8                 # 12.5 Mbaud at 100 MHz: short simulated waits
FEATURES = Features(outputs=1)
REGMAP = register_map(CHANNELS, FEATURES)
ADDRESSES = sorted(r.address for r in REGMAP)
RW = [r.address for r in REGMAP if r.access == "rw"]
REPLY_TIMEOUT = 5.0         # seconds of wall time; an example takes well under 0.5 s

# one board for the module: keep its tests on one xdist worker (make test runs --dist loadgroup)
pytestmark = pytest.mark.xdist_group("protocol_fuzz")


def _runs(addresses):
    """READ bursts (address, count) covering these addresses: consecutive runs, at most MAX_BURST."""
    runs = []
    for a in addresses:
        if runs and runs[-1][0] + runs[-1][1] == a and runs[-1][1] < wire.MAX_BURST:
            runs[-1][1] += 1
        else:
            runs.append([a, 1])
    return [tuple(r) for r in runs]


BURSTS = _runs(ADDRESSES)
COUNTER_NAMES = ("err_framing", "err_overrun", "records_sent") + COUNTERS
COUNTER_BURST, = _runs(sorted(REGMAP[n].address for n in COUNTER_NAMES))   # one burst reads them all
OTHER_BURSTS = [b for b in BURSTS if b != COUNTER_BURST]
assert sum(c for _, c in OTHER_BURSTS) + COUNTER_BURST[1] == len(ADDRESSES)


# --- the board and a raw port ----------------------------------------------------------

class Port:
    """Raw bytes to the node; every frame it sends back, parsed. A corrupt frame from the
    node is a failure: the pty link itself never corrupts anything."""

    def __init__(self, board):
        self.board = board
        self.serial = serial.Serial(board.path, timeout=0.01)
        self.decoder = wire.SlipDecoder(max_body=1024)
        self.replies = []

    def send(self, data):
        self.serial.write(data)

    def _poll(self):
        data = self.serial.read(self.serial.in_waiting or 1)
        for body in self.decoder.feed(data):
            if body is None:
                raise AssertionError("the node sent a frame with a bad escape (or over 1024 bytes)")
            try:
                self.replies.append(wire.parse_body(body))
            except wire.FrameError as e:
                raise AssertionError(f"the node sent a corrupt frame {body.hex()}: {e}") from None
        return bool(data)

    def collect(self, n, timeout=REPLY_TIMEOUT):
        """Replies until there are ``n``, or the timeout: all taken."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.replies) >= n:
                break
            self._poll()
        self.board.check()          # a dead simulator is not a hung node
        out, self.replies = self.replies, []
        return out

    def await_reply(self, n, match, timeout=REPLY_TIMEOUT, grace=0.3):
        """Replies until the ``n``-th matches ``match`` (a predicate); if one matches earlier,
        ``grace`` seconds more (a reply missing or out of order must not look like a hang)."""
        deadline, until = time.monotonic() + timeout, None
        while time.monotonic() < min(deadline, until or deadline):
            if len(self.replies) >= n and match(self.replies[-1]):
                break
            if until is None and any(match(r) for r in self.replies):
                until = time.monotonic() + grace
            self._poll()
        self.board.check()
        out, self.replies = self.replies, []
        return out

    def drain(self, quiet=0.1):
        """Read until the node has been silent for ``quiet`` s; forget it all."""
        last = time.monotonic()
        while time.monotonic() - last < quiet:
            if self._poll():
                last = time.monotonic()
        self.decoder = wire.SlipDecoder(max_body=1024)
        self.replies = []

    def close(self):
        self.serial.close()


def connect(board):
    """A Port on a freshly started board, knowing the board's reset values."""
    port = Port(board)
    port.dirty = True           # a failed example may have left replies on the line: drain first
    port.initial = {a: v for a, v in snapshot(port).items() if a in RW}
    return port


@pytest.fixture(scope="module")
def node():
    # the features the model knows: one output, no sequencer or attempt loop (their
    # registers and SCHEDULE are tested in gateware/outputs against their own model)
    node = Node(channels=CHANNELS, samples_per_cycle=4, clock_hz=100_000_000, uart_divisor=DIVISOR,
                features=FEATURES)
    board = VirtualBoard(backend="verilator", channels=CHANNELS, divisor=DIVISOR, node=node)
    try:
        board.start()
        missing = None
    except HarnessBuildError as e:
        board.close()
        missing = str(e)
    if missing:                     # fail, never skip: these tests are the protocol's safety net
        pytest.fail(f"the protocol fuzz tests need the Verilator virtual board: {missing}", pytrace=False)
    port = connect(board)
    try:
        yield port
    finally:
        port.close()
        board.close()


def snapshot(port, *, restore=None):
    """Every register (address -> value), read in bursts (the counters last). ``restore``
    (address -> value) is written first, with a STREAM 0, so that an example replayed by
    hypothesis meets the same registers."""
    requests = []
    if restore:
        requests += [(Command.STREAM, b"\x00")]
        requests += [(Command.WRITE, wire.pack_write(a, [restore[a + i] for i in range(n)]))
                     for a, n in _runs(sorted(restore))]
    requests += [(Command.READ, wire.pack_read(a, n)) for a, n in OTHER_BURSTS + [COUNTER_BURST]]
    port.send(b"".join(wire.build_frame(kind, i + 1, payload) for i, (kind, payload) in enumerate(requests)))
    replies = port.collect(len(requests))
    assert len(replies) == len(requests), \
        f"node hung: {len(replies)} replies to {len(requests)} requests of a register snapshot"
    values = {}
    for i, ((kind, payload), (rkind, rseq, rpayload)) in enumerate(zip(requests, replies)):
        assert (rkind, rseq) == (Reply.OK, i + 1), \
            f"{kind!r} {payload.hex()} (seq {i + 1}) answered {rkind:#x} seq {rseq} {rpayload.hex()}"
        if kind == Command.READ:
            address, count = struct.unpack("<HB", payload)
            values.update(zip(range(address, address + count), wire.unpack_words(rpayload)))
    return values


def _report(sent, expected, got):
    lines = [f"sent {len(sent)} bytes: {sent.hex()}", "expected replies:"]
    lines += [f"  {i}: {e.describe()}" for i, e in enumerate(expected)]
    lines.append("received:")
    for i, (kind, seq, payload) in enumerate(got):
        extra = ""
        if kind == Reply.ERROR and len(payload) == 3:
            code, detail = wire.unpack_error(payload)
            extra = f" ({getattr(code, 'name', code)} detail {detail:#06x})"
        lines.append(f"  {i}: kind {kind:#04x} seq {seq} payload {payload.hex()}{extra}")
    return "\n".join(lines)


def check_exchange(port, fuzz, good):
    """Send ``fuzz``, an END and the ``good`` frame; check everything against the model."""
    if port.dirty:                  # a failed example may have left replies on the line
        port.send(bytes([END]))
        port.drain()
    port.dirty = True
    before = snapshot(port, restore=port.initial)
    model = NodeModel(CHANNELS)
    model.load(before)

    sent = fuzz + bytes([END]) + good
    expected = model.feed(sent)
    assert not model.splitter.pending
    owed = expected[-1]
    assert owed.frame.body == FrameSplitter().feed(good)[0].body and owed.kind != Reply.ERROR
    moved = dict(model.moved)

    port.send(sent)
    # the good frame's reply, told by its kind and seq (its contents are checked below)
    def answers_good(reply):
        return reply[:2] == (owed.kind, owed.seq)

    got = port.await_reply(len(expected), answers_good)
    if not any(answers_good(g) for g in got):
        raise AssertionError("node hung: the good frame after the fuzz bytes got no reply in "
                             f"{REPLY_TIMEOUT} s\n" + _report(sent, expected, got))
    problems = []
    if len(got) != len(expected):
        problems.append(f"{len(got)} replies, expected {len(expected)}")
    for i, (e, g) in enumerate(zip(expected, got)):
        why = e.mismatch(*g)
        if why:
            problems.append(f"reply {i}: {why}; expected {e.describe()}")
    assert not problems, "\n".join(problems) + "\n" + _report(sent, expected, got)

    # registers: counters first, so frames_ok has moved only by the fuzz, the good frame and this READ
    after_frames = [wire.build_frame(Command.READ, i + 1, wire.pack_read(a, n))
                    for i, (a, n) in enumerate([COUNTER_BURST] + OTHER_BURSTS)]
    after_expected = model.feed(b"".join(after_frames))
    port.send(b"".join(after_frames))
    after_got = port.collect(len(after_frames))
    assert len(after_got) == len(after_frames), \
        "node hung: no complete register snapshot after the fuzz\n" + _report(sent, expected, got)
    after = {}
    for (a, n), (kind, seq, payload) in zip([COUNTER_BURST] + OTHER_BURSTS, after_got):
        assert kind == Reply.OK and len(payload) == 4 * n, (kind, seq, payload.hex())
        after.update(zip(range(a, a + n), wire.unpack_words(payload)))
    reg = {r.name: r.address for r in REGMAP}

    for name in ("err_overrun", "err_framing"):
        assert after[reg[name]] == before[reg[name]], \
            f"{name} moved by {after[reg[name]] - before[reg[name]]}: the model assumes every byte reaches " \
            f"the frame decoder (example too large for the receive buffer?)\n" + _report(sent, expected, got)
    deltas = {name: (after[reg[name]] - before[reg[name]]) & 0xFFFFFFFF for name in COUNTERS}
    wanted = dict(moved, frames_ok=moved["frames_ok"] + 1)     # + the READ of the counters itself
    assert deltas == wanted, f"counters moved by {deltas}, expected {wanted}\n" + _report(sent, expected, got)
    changed = {r.name: (before[r.address], after[r.address]) for r in REGMAP
               if r.access == "rw" and after[r.address] != model.writes.get(r.address, before[r.address])}
    assert not changed, f"rw registers changed (before, after) but no good WRITE did it: {changed}, " \
                        f"good writes {model.writes}\n" + _report(sent, expected, got)
    for e, g in zip(after_expected, after_got):     # everything else too: constants, other counters
        why = e.mismatch(*g)
        assert why is None, f"after the fuzz: {why}; expected {e.describe()}\n" + _report(sent, expected, got)
    port.dirty = False
    return expected


# --- strategies --------------------------------------------------------------------------

# addresses next to and between registers, past the last channel, at the top of the space
ODD_ADDRESSES = [0x0005, 0x0007, 0x0010, 0x001F, 0x002A, 0x00FF, 0x0105, 0x010F,
                 0x0100 + CHANNELS * 0x10, 0x0FFF, 0xFFE0, 0xFFFE, 0xFFFF]
address = st.one_of(st.sampled_from(ADDRESSES), st.sampled_from(ODD_ADDRESSES), st.integers(0, 0xFFFF))
word = st.one_of(st.integers(0, 0xFFFFFFFF), st.sampled_from([0, 1, 2, 3, 0xFFFFFFFF, 0xC0C0C0C0, 0xDBDCDDC0]))
seqs = st.integers(0, 255)
count = st.one_of(st.integers(1, wire.MAX_BURST), st.sampled_from([0, 1, wire.MAX_BURST, wire.MAX_BURST + 1, 255]))


@st.composite
def good_write(draw):
    """A WRITE the node must apply: a run of writable registers, time_cmd only 1 or 2."""
    runs = [(0x0004, 1), (0x000A, 2), (0x000A, 3), (0x000C, 1), (0x000D, 2)] + \
           [(0x0100 + c * 0x10, n) for c in range(CHANNELS) for n in (1, 2, 3)]
    base, n = draw(st.sampled_from(runs))
    values = [draw(st.sampled_from([1, 2]) if base + i == 0x000C else word) for i in range(n)]
    return Command.WRITE, wire.pack_write(base, values)


@st.composite
def bad_write(draw):
    """A WRITE of the right length the node must refuse whole: at a read-only register or a
    gap, a bad time_cmd value, or a run of good registers that ends in one of those."""
    what = draw(st.sampled_from(["read_only", "gap", "time_cmd", "into_bad"]))
    if what == "read_only":
        base = draw(st.sampled_from([r.address for r in REGMAP if r.access == "ro"]))
        n = draw(st.integers(1, 3))
    elif what == "gap":
        base, n = draw(st.sampled_from(ODD_ADDRESSES)), draw(st.integers(1, 3))
    elif what == "time_cmd":
        base, n = draw(st.sampled_from([(0x000C, 1), (0x000A, 3), (0x000B, 2), (0x000C, 3)]))
    else:   # good registers first, then a read-only one or a gap
        base, n = draw(st.sampled_from([(0x0004, 2), (0x0004, 5), (0x000D, 3), (0x000A, 6)] +
                                       [(0x0100 + c * 0x10, k) for c in range(CHANNELS) for k in (4, 6, 17)]))
    values = [draw(word) for _ in range(n)]
    if 0x000C in range(base, base + n) and draw(st.booleans()):
        values[0x000C - base] = draw(st.sampled_from([0, 3, 0x101, 0xFFFFFFFF]))
    return Command.WRITE, wire.pack_write(base, values)


@st.composite
def request(draw):
    """(kind, payload) of a request with a good CRC: good, or with a bad length, count,
    command, address, read-only target or value."""
    what = draw(st.sampled_from(["identify", "read", "good_read", "write", "good_write", "bad_write",
                                 "bad_write", "events", "stream", "unknown", "any"]))
    if what == "identify":
        return Command.IDENTIFY, draw(st.one_of(st.just(b""), st.binary(min_size=1, max_size=4)))
    if what == "events":
        return Command.READ_EVENTS, draw(st.one_of(st.just(b""), st.binary(min_size=1, max_size=4)))
    if what == "good_read":
        base, n = draw(st.sampled_from(BURSTS))
        start = draw(st.integers(0, n - 1))
        return Command.READ, wire.pack_read(base + start, draw(st.integers(1, n - start)))
    if what == "read":
        payload = wire.pack_read(draw(address), draw(count))
        if draw(st.integers(0, 3)) == 0:        # a byte too many or too few
            payload = draw(st.sampled_from([payload[:-1], payload[:1], b"", payload + b"\x00"]))
        return Command.READ, payload
    if what == "good_write":
        return draw(good_write())
    if what == "bad_write":
        return draw(bad_write())
    if what == "write":                         # any address, any count, often the wrong length
        n = draw(count)
        k = min(n, 40) + draw(st.sampled_from([0, 0, -1, 1]))
        values = draw(st.lists(word, min_size=max(0, k), max_size=max(0, k)))
        return Command.WRITE, struct.pack(f"<HB{len(values)}I", draw(address), n, *values)
    if what == "stream":
        return Command.STREAM, draw(st.one_of(st.sampled_from([b"\x00", b"\x01", b"\x02", b"\xff"]),
                                              st.binary(min_size=0, max_size=3)))
    if what == "unknown":
        kind = draw(st.integers(0, 255).filter(lambda k: k not in set(Command)))
        return kind, draw(st.binary(min_size=0, max_size=12))
    return draw(st.integers(0, 255)), draw(st.binary(min_size=0, max_size=12))


def frame_of(kind_payload, seq):
    kind, payload = kind_payload
    return wire.build_frame(kind, seq, payload)


good_frame = st.builds(frame_of, request(), seqs)
raw_bytes = st.binary(min_size=0, max_size=80)
slip_bytes = st.lists(st.one_of(st.sampled_from([END, ESC, ESC_END, ESC_ESC]), st.integers(0, 255)),
                      max_size=60).map(bytes)


@st.composite
def corrupted(draw):
    """A good frame with one byte (its ENDs too) changed."""
    frame = draw(good_frame)
    i = draw(st.integers(0, len(frame) - 1))
    b = draw(st.integers(0, 255).filter(lambda b: b != frame[i]))
    return frame[:i] + bytes([b]) + frame[i + 1:]


@st.composite
def truncated(draw):
    """A good frame cut short, then END."""
    frame = draw(good_frame)
    return frame[:draw(st.integers(1, len(frame) - 2))] + bytes([END])


@st.composite
def oversize(draw):
    """A body longer than MAX_REQUEST_BODY, maybe with a good CRC, maybe mostly escapes."""
    n = draw(st.one_of(st.just(wire.MAX_REQUEST_BODY + 1), st.integers(wire.MAX_REQUEST_BODY + 1, 200)))
    if draw(st.booleans()):
        body = bytes(draw(st.lists(st.sampled_from([END, ESC, 0x00]), min_size=n, max_size=n)))
    else:
        body = draw(st.binary(min_size=n, max_size=n))
    if draw(st.booleans()):
        body = body[:-2] + wire.crc16(body[:-2]).to_bytes(2, "big")
    if draw(st.booleans()):         # a WRITE-looking start
        body = bytes([Command.WRITE, draw(seqs)]) + body[2:]
    return wire.slip_encode(body)


@st.composite
def bad_escape(draw):
    """A good frame with ESC and a byte that is not ESC_END or ESC_ESC somewhere inside,
    or with an ESC dangling before its closing END."""
    frame = draw(good_frame)
    if draw(st.integers(0, 3)) == 0:
        return frame[:-1] + bytes([ESC, END])
    i = draw(st.integers(1, len(frame) - 1))
    b = draw(st.integers(0, 255).filter(lambda b: b not in (ESC_END, ESC_ESC, END)))
    return frame[:i] + bytes([ESC, b]) + frame[i:]


# READ_EVENTS in quick succession: each EVENTS_READ reply must still come in its turn
events_frame = st.builds(lambda seq: wire.build_frame(Command.READ_EVENTS, seq), seqs)
empty_frames = st.integers(1, 4).map(lambda n: bytes([END]) * n)
tiny_frames = st.lists(st.binary(min_size=0, max_size=3), min_size=1, max_size=6).map(
    lambda parts: b"".join(p.replace(bytes([END]), b"") + bytes([END]) for p in parts))

MAX_FUZZ = 400      # bytes: below the receive buffer, whatever the node is busy with meanwhile


def pieces(*strategies):
    return st.lists(st.one_of(*strategies), min_size=1, max_size=6).map(b"".join).filter(
        lambda data: len(data) <= MAX_FUZZ)


# the good frame that must be answered after the fuzz
final_frame = st.one_of(
    st.builds(lambda seq: wire.build_frame(Command.IDENTIFY, seq), seqs),
    st.builds(lambda seq: wire.build_frame(Command.READ, seq, wire.pack_read(*COUNTER_BURST)), seqs),
)

# a fixed seed (below) and no example database: every run, xdist or not, tries the same examples
FUZZ_SETTINGS = dict(deadline=None, database=None, print_blob=False,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                            HealthCheck.data_too_large])
EXAMPLES = 600      # per test; about 30 ms each
SEED = 20261126


def fuzz(node, strategy, wanted, figures, name):
    """Run check_exchange on hypothesis examples; then check they met every ``wanted`` outcome."""
    stats = {"examples": 0, "frames": 0}

    @seed(SEED)
    @settings(max_examples=EXAMPLES, **FUZZ_SETTINGS)
    @given(data=strategy, good=final_frame)
    def run(data, good):
        expected = check_exchange(node, data, good)
        stats["examples"] += 1
        stats["frames"] += len(expected)
        for e in expected:
            key = e.code.name if e.code is not None else e.kind.name
            stats[key] = stats.get(key, 0) + 1

    t0 = time.monotonic()
    run()
    seen = set(stats)
    assert wanted <= seen, f"the examples never produced {wanted - seen}: {stats}"
    figures(f"protocol fuzz ({name}): {stats.pop('examples')} examples, {stats.pop('frames')} frames in "
            f"{time.monotonic() - t0:.1f} s: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.items())))


# --- the fuzz tests ----------------------------------------------------------------------

def test_garbage_and_broken_frames(node, figures):
    """Random bytes, corrupted, truncated and oversize frames and bad escapes, among good frames."""
    strategy = pieces(raw_bytes, slip_bytes, corrupted(), truncated(), oversize(), bad_escape(), empty_frames,
                      tiny_frames, good_frame, events_frame)
    fuzz(node, strategy, {"BAD_CRC", "BAD_LENGTH", "UNKNOWN_COMMAND", "OK"}, figures, "broken frames")


def test_well_formed_requests(node, figures):
    """Frames with good CRCs: bad lengths and counts, unknown commands, bad addresses,
    read-only targets, bad values, and good reads and writes (applied whole or not at all)."""
    strategy = pieces(good_frame, good_frame, st.builds(frame_of, good_write(), seqs),
                      st.builds(frame_of, bad_write(), seqs), events_frame)
    # (QUEUE_FULL needs a sequencer, which this node has not: gateware/outputs tests it)
    unreachable = {ErrorCode.BAD_CRC, ErrorCode.QUEUE_FULL}
    fuzz(node, strategy, {c.name for c in ErrorCode if c not in unreachable} | {"OK", "EVENTS_READ"},
         figures, "well-formed requests")


# --- boundaries, one by one -------------------------------------------------------------

def _frame(kind, payload=b"", seq=0x5A):
    return wire.build_frame(kind, seq, payload)


def _raw_body(body):
    """A body with its CRC, SLIP-framed."""
    return wire.slip_encode(body + wire.crc16(body).to_bytes(2, "big"))


def _escaped_crc_frame():
    """An IDENTIFY whose CRC holds an END or ESC byte, so it travels escaped."""
    seq = next(s for s in range(256) if {END, ESC} & set(wire.crc16(bytes([Command.IDENTIFY, s])).to_bytes(2, "big")))
    return _frame(Command.IDENTIFY, seq=seq)


R, W = Command.READ, Command.WRITE
BOUNDARIES = {
    # READ: counts, lengths, the edges of the register map
    "read count 0": _frame(R, wire.pack_read(0x0000, 0)),
    "read count 1": _frame(R, wire.pack_read(0x0000, 1)),
    "read count 33": _frame(R, wire.pack_read(0x0000, wire.MAX_BURST + 1)),
    "read count 255": _frame(R, wire.pack_read(0x0000, 255)),
    "read of a whole run": _frame(R, wire.pack_read(0x0000, 5)),
    "read one past a run": _frame(R, wire.pack_read(0x0000, 6)),
    "read 32 into a gap": _frame(R, wire.pack_read(0x0100, wire.MAX_BURST)),
    "read the last counter": _frame(R, wire.pack_read(0x0029, 1)),
    "read past the counters": _frame(R, wire.pack_read(0x002A, 1)),
    "read past the last channel": _frame(R, wire.pack_read(0x0100 + CHANNELS * 0x10, 1)),
    "read at 0xffff": _frame(R, wire.pack_read(0xFFFF, 2)),
    "read payload short": _frame(R, wire.pack_read(0x0000, 1)[:2]),
    "read payload long": _frame(R, wire.pack_read(0x0000, 1) + b"\x00"),
    "read of time_cmd (write-only: 0)": _frame(R, wire.pack_read(0x000A, 3)),
    # WRITE: counts and lengths
    "write count 0": _frame(W, struct.pack("<HB", 0x0004, 0)),
    "write count 1, no value": _frame(W, struct.pack("<HB", 0x0004, 1)),
    "write count 1, two values": _frame(W, struct.pack("<HBII", 0x0004, 1, 1, 2)),
    "write count 1, three bytes": _frame(W, struct.pack("<HB", 0x0004, 1) + b"\x01\x02\x03"),
    "write 32 (longest body) into read-only": _frame(W, wire.pack_write(0x0100, range(1, 33))),
    "write 32 into a gap": _frame(W, wire.pack_write(0x0004, range(32))),
    "write 33 (too long)": _frame(W, wire.pack_write(0x0004, range(33))),
    # WRITE: targets and values, applied whole or not at all
    "write scratch": _frame(W, wire.pack_write(0x0004, [0xC0DBC0DB])),
    "write a channel": _frame(W, wire.pack_write(0x0110, [0xFFFFFFFF, 0x12345, 0xABCDE])),
    "write a channel into read-only": _frame(W, wire.pack_write(0x0110, [5, 6, 7, 8])),
    "write scratch into a gap": _frame(W, wire.pack_write(0x0004, [9, 9])),
    "write read-only magic": _frame(W, wire.pack_write(0x0000, [1])),
    "write time_cmd 0": _frame(W, wire.pack_write(0x000C, [0])),
    "write time_cmd 1": _frame(W, wire.pack_write(0x000C, [1])),
    "write time_cmd 2": _frame(W, wire.pack_write(0x000C, [2])),
    "write time_cmd 3": _frame(W, wire.pack_write(0x000C, [3])),
    "write time args, then time_cmd 0x101": _frame(W, wire.pack_write(0x000A, [7, 8, 0x101])),
    "write time args and time_cmd 1": _frame(W, wire.pack_write(0x000A, [7, 8, 1])),
    "write time_cmd 2, then read-only": _frame(W, wire.pack_write(0x000C, [2, 1, 1, 1])),
    # the other commands
    "identify with a payload": _frame(Command.IDENTIFY, b"\x00"),
    "read_events with a payload": _frame(Command.READ_EVENTS, b"\x00\x00"),
    "stream 0": _frame(Command.STREAM, b"\x00"),
    "stream 1": _frame(Command.STREAM, b"\x01"),
    "stream 2": _frame(Command.STREAM, b"\x02"),
    "stream 255": _frame(Command.STREAM, b"\xff"),
    "stream without its byte": _frame(Command.STREAM),
    "stream with two bytes": _frame(Command.STREAM, b"\x01\x00"),
    "kind 0x00": _frame(0x00),
    "kind 0x07": _frame(0x07, b"\x01\x02\x03"),
    "SCHEDULE to a node without a sequencer": _frame(0x06, b"\x00\x00\x01" + bytes(12)),
    "kind 0x80 (a reply kind)": _frame(0x80),
    "kind 0xff": _frame(0xFF, b"\x00" * 20),
    "longest body, unknown kind": _raw_body(bytes([0x77, 1]) + bytes(wire.MAX_REQUEST_BODY - 4)),
    "one byte too long, good CRC": _raw_body(bytes([W, 1]) + bytes(wire.MAX_REQUEST_BODY - 3)),
    # framing
    "1-byte frame": bytes([END, 0x01, END]),
    "2-byte frame": bytes([END, 0x01, 0x02, END]),
    "3-byte frame": bytes([END, 0x01, 0x02, 0x03, END]),
    "bad escape alone": bytes([END, ESC, 0x00, END]),
    "escaped END alone": bytes([END, ESC, ESC_END, END]),
    "ESC alone": bytes([END, ESC, END]),
    "ESC before the closing END": _frame(Command.IDENTIFY)[:-1] + bytes([ESC, END]),
    "bad escape in a good frame": _frame(Command.IDENTIFY)[:2] + bytes([ESC, 0x01]) + _frame(Command.IDENTIFY)[2:],
    "CRC escaped": _escaped_crc_frame(),
    "CRC off by one": _frame(Command.IDENTIFY)[:-2] + bytes([_frame(Command.IDENTIFY)[-2] ^ 1, END]),
    "many empty frames": bytes([END]) * 50,
    # replies in order: an EVENTS_READ frame is its request's reply, whatever follows
    "read_events twice, then a short frame": _frame(Command.IDENTIFY) + _frame(Command.READ_EVENTS) * 2 + bytes([0x33, END]),
    "read_events, bad escape": _frame(Command.READ_EVENTS) + bytes([ESC, 0x00, END]),
    "read_events thrice, then identify": _frame(Command.READ_EVENTS) * 3 + _frame(Command.IDENTIFY),
}


@pytest.mark.parametrize("name", BOUNDARIES)
def test_boundary(node, name):
    check_exchange(node, BOUNDARIES[name], wire.build_frame(Command.READ, 0xA5, wire.pack_read(*COUNTER_BURST)))


# --- deterministic bursts ----------------------------------------------------------------

def test_long_garbage_then_a_good_frame(node):
    """5 kB of random bytes (a few END among them), then 5 kB with no END or ESC (one
    frame, too long): every frame in them refused and counted as the model says, and the
    good frame after them answered."""
    rng = random.Random(20240601)
    garbage = rng.randbytes(5000)
    expected = check_exchange(node, garbage, wire.build_frame(Command.IDENTIFY, 7))
    assert len(expected) > 10 and all(e.kind == Reply.ERROR for e in expected[:-1])
    one_frame = bytes(b for b in rng.randbytes(5200) if b not in (END, ESC))[:5000]
    expected = check_exchange(node, one_frame, wire.build_frame(Command.READ, 8, wire.pack_read(*COUNTER_BURST)))
    assert [(e.code, e.detail) for e in expected[:-1]] == [(ErrorCode.BAD_LENGTH, 5000)]


def test_receive_buffer_overrun_is_counted(node, figures):
    """Requests arriving faster than the node can answer them overflow its receive buffer:
    the bytes dropped are counted in err_overrun, the frames they broke are refused and
    counted, every frame the node saw is answered once and in order, nothing is written,
    and the node answers the next good frame."""
    if node.dirty:
        node.send(bytes([END]))
        node.drain()
    node.dirty = True
    before = snapshot(node)
    reg = {r.name: r.address for r in REGMAP}
    # each READ of the 10 counters is 9 bytes in and about 48 out: the buffer fills after ~70
    n = 400
    burst = wire.pack_read(*COUNTER_BURST)
    frames = [wire.build_frame(Command.READ, 1 + i % 250, burst) for i in range(n)]
    assert sum(map(len, frames)) > 5 * RX_BUFFER
    node.send(b"".join(frames))
    replies = []
    for tail in (b"", bytes([END])):
        # then, once the buffer has room again, an END closes what is left of the last frame
        # (if its own END was dropped: it came while the buffer was full)
        node.send(tail)
        while True:
            got = node.collect(10 ** 9, timeout=1.0)    # until the node is quiet for a second
            if not got:
                break
            replies += got
    node.send(wire.build_frame(Command.IDENTIFY, 251))
    last = node.collect(1)
    assert len(last) == 1 and last[0][:2] == (Reply.OK, 251), f"node hung after the overrun: {last}"
    after = snapshot(node)

    delta = {name: (after[reg[name]] - before[reg[name]]) & 0xFFFFFFFF for name in COUNTER_NAMES}
    snapshot_reads = len(OTHER_BURSTS) + 1
    delta["frames_ok"] -= snapshot_reads + 1        # the IDENTIFY, and the snapshot's reads but one
    assert delta["err_overrun"] > 0, f"no overrun counted: {delta}"
    assert delta["err_framing"] == 0
    answered = delta["frames_ok"] + sum(delta[c] for c in COUNTERS if c != "frames_ok")
    assert answered == len(replies) <= n, f"{len(replies)} replies, counters {delta}"
    assert delta["err_command"] == delta["err_address"] == delta["err_read_only"] == delta["err_value"] == 0
    # a dropped byte breaks at most the frames it was in or next to: most of the bytes are dropped
    ok = [(seq, payload) for kind, seq, payload in replies if kind == Reply.OK]
    assert len(ok) == delta["frames_ok"] and all(len(p) == 4 * COUNTER_BURST[1] for _, p in ok)
    assert len(ok) < n - 50, f"{len(ok)} of {n} READs answered OK: no bytes lost?"
    # in order: the seqs of the OK replies follow the requests' (1..250, then again from 1)
    requested = iter(1 + i % 250 for i in range(n))
    assert all(any(seq == r for r in requested) for seq, _ in ok), \
        f"OK replies out of request order: {[seq for seq, _ in ok]}"
    assert all(after[a] == before[a] for a in RW), "a register changed"
    figures(f"protocol fuzz (overrun): {n} READs of {COUNTER_BURST[1]} back to back: {len(ok)} answered OK, "
            f"{len(replies) - len(ok)} refused (err_crc {delta['err_crc']}, err_length {delta['err_length']}), "
            f"err_overrun {delta['err_overrun']} bytes")
    node.dirty = False


# --- the model on its own ----------------------------------------------------------------

def test_model_answers_the_worked_examples():
    """The model agrees with the wire codec on good requests and the obvious refusals."""
    model = NodeModel(CHANNELS)
    model.load({REGMAP["scratch"].address: 5, REGMAP["frames_ok"].address: 10, REGMAP["records_sent"].address: 0})
    e, = model.feed(wire.build_frame(Command.IDENTIFY, 9))
    assert (e.kind, e.seq, e.payload) == (Reply.OK, 9, model.identify.pack())
    e, = model.feed(wire.build_frame(Command.READ, 1, wire.pack_read(0x0004, 1)))
    assert e.words == (5,)
    e, = model.feed(wire.build_frame(Command.READ, 1, wire.pack_read(0x0026, 1)))
    assert e.words == (13,)                         # IDENTIFY, the READ before, this READ
    e, = model.feed(wire.build_frame(Command.WRITE, 2, wire.pack_write(0x0100, [0xFF, 0x12345])))
    assert e.kind == Reply.OK and model.writes == {0x100: 0x7, 0x101: 0x2345}
    e, = model.feed(wire.build_frame(Command.WRITE, 2, wire.pack_write(0x0004, [1, 2])))
    assert (e.code, e.detail) == (ErrorCode.READ_ONLY, 0x0005) and model.value("scratch") == 5
    e, = model.feed(wire.build_frame(Command.READ, 2, wire.pack_read(0x0005, 2)))
    assert (e.code, e.detail) == (ErrorCode.BAD_ADDRESS, 0x0006)
    e, = model.feed(wire.build_frame(Command.WRITE, 2, wire.pack_write(0x000B, [1, 3])))
    assert (e.code, e.detail) == (ErrorCode.BAD_VALUE, 0x000C)
    e, = model.feed(wire.build_frame(Command.WRITE, 2, wire.pack_write(0x0003, [1, 3])))
    assert (e.code, e.detail) == (ErrorCode.READ_ONLY, 0x0003)
    e, = model.feed(wire.build_frame(Command.READ_EVENTS, 4))
    assert (e.kind, e.seq, e.payload) == (Reply.EVENTS_READ, 4, wire.pack_events(0))
    e, = model.feed(bytes([END, 1, ESC, 0x00, 2, END]))
    assert (e.code, e.seq) == (ErrorCode.BAD_CRC, 2)
    e, = model.feed(bytes([END, 0x42, END]))
    assert (e.code, e.detail, e.seq) == (ErrorCode.BAD_LENGTH, 1, 0)
    assert model.feed(bytes([END, END, ESC, END])) == []
    e, = model.feed(wire.build_frame(0x77, 5, b"\x00" * 200))
    assert (e.code, e.detail) == (ErrorCode.BAD_LENGTH, 204)
    assert model.moved == {"err_crc": 1, "err_length": 2, "err_command": 0, "err_address": 1,
                           "err_read_only": 2, "err_value": 1, "frames_ok": 5}
