"""The peer link's PHY-side framing: a transmitter that turns time-transfer
messages into output sample words, and a receiver that finds frames in an
input's sample words and stamps their arrival at the fine tick (qnu/sync.py
defines the frame and the line code)."""

from amaranth.hdl import Module, Signal, Cat, Const, Mux
from amaranth.lib import data, wiring, stream
from amaranth.lib.crc import Processor
from amaranth.lib.crc.catalog import CRC16_CCITT_FALSE
from amaranth.lib.wiring import In, Out

from qnu.sync import (Message, encode_frame, MESSAGE_FIELDS, MESSAGE_BYTES, FRAME_BYTES, SYMBOL_BITS, FRAME_BITS,
                      IDLE_BITS)
from ..timing.event import TIME_WIDTH

__all__ = ["PeerTx", "PeerRx", "MESSAGE", "RECEIVED", "TX_CRC_CYCLES"]

#: a message's fields, as the frame orders them (``departure`` is the transmitter's to fill)
MESSAGE = data.StructLayout({name: 8 * size for name, size in MESSAGE_FIELDS})
#: a received message and the tick its frame's first edge arrived at
RECEIVED = data.StructLayout({"message": MESSAGE, "arrival": TIME_WIDTH})
#: cycles the transmitter takes from taking a message to having its frame ready
TX_CRC_CYCLES = MESSAGE_BYTES + 2


def _crc():
    return Processor(CRC16_CCITT_FALSE(data_width=8))


def _frame_words(n, bit_ticks):
    """(bits per word, words per bit) of a line of ``bit_ticks``-tick bits in ``n``-sample words."""
    return max(1, n // bit_ticks), max(1, bit_ticks // n)


def _departure_crc_deltas():
    """Per bit of ``departure``: how setting it changes the frame's CRC (the CRC is
    affine in the frame's bits, so a departure patched in adds these up)."""
    zero = Message()
    base = int.from_bytes(encode_frame(zero)[-2:], "big")
    return [int.from_bytes(encode_frame(Message(departure=1 << j))[-2:], "big") ^ base for j in range(TIME_WIDTH)]


def _field_byte(field):
    """The byte of the frame a message field starts at."""
    names = [name for name, _ in MESSAGE_FIELDS]
    return sum(size for _, size in MESSAGE_FIELDS[:names.index(field)])


class PeerTx(wiring.Component):
    """Sends each message of ``messages`` as a frame, ``departure`` set to the
    tick of its first edge (one-step), the first tick of a word.

    ``samples`` is the line for the word whose first tick is ``now + lead *
    samples_per_cycle`` (``lead`` cycles of registers follow it on its way to
    the pins). A message is taken once the last frame has left and the line
    has been idle for ``IDLE_BITS`` bit times since. Its CRC is made a byte a
    cycle with a zero departure; the frame then leaves at once, and in the
    word after its first its departure is written in (the departure's
    bytes leave later) and its share of the CRC added in: the departure is
    that of the word the frame actually started in, whatever steps the
    time took meanwhile."""

    def __init__(self, *, samples_per_cycle, bit_ticks, lead):
        n = samples_per_cycle
        if bit_ticks < 2 or bit_ticks & (bit_ticks - 1):
            raise ValueError(f"bit_ticks must be a power of two, at least 2, not {bit_ticks}")
        self.n, self.bit_ticks, self.lead = n, bit_ticks, lead
        super().__init__({
            "now":       In(TIME_WIDTH),
            "messages":  In(stream.Signature(MESSAGE)),
            "samples":   Out(n),
            "sending":   Out(1),
            "departure": Out(TIME_WIDTH),       # the last frame's
        })

    def elaborate(self, platform):
        m = Module()
        n, bt = self.n, self.bit_ticks
        per_word, words_per_bit = _frame_words(n, bt)
        rest_words = -(-IDLE_BITS * bt // n)
        m.submodules.crc = crc = _crc()

        message = Signal(MESSAGE)
        body = Signal(8 * MESSAGE_BYTES)
        m.d.comb += body.eq(Cat(*(Const(0, 64) if name == "departure" else getattr(message, name)
                                  for name, _ in MESSAGE_FIELDS)))
        index = Signal(range(MESSAGE_BYTES + 1))
        line = Signal(FRAME_BITS)           # the frame's line bits, the next to leave at bit 0
        left = Signal(range(FRAME_BITS + 1))
        hold = Signal(range(words_per_bit))  # words the current bit has been out for, less one
        # words of idle line still owed after the last frame (or power-up: a receiver takes
        # nothing for a start before it has seen the line idle)
        rest = Signal(range(rest_words + 1), init=rest_words)
        word_time = Signal(TIME_WIDTH)
        m.d.comb += word_time.eq(self.now + self.lead * n)

        def byte_bits(frame):
            return Cat(*(Cat(Const(1, 1), byte, Const(0, 1)) for byte in frame))

        # --- the line: each bit ``bt`` samples ---
        shifted = Signal(FRAME_BITS)
        bits = Signal(per_word)
        m.d.comb += bits.eq(Mux(left != 0, line[:per_word], 0))
        m.d.comb += self.samples.eq(Cat(*(bits[s // bt] for s in range(n))))
        m.d.comb += [shifted.eq(line), self.sending.eq(left != 0)]
        with m.If(rest != 0):
            m.d.sync += rest.eq(rest - 1)
        with m.If(left != 0):
            if words_per_bit == 1:
                m.d.comb += shifted.eq(line >> per_word)
                m.d.sync += left.eq(left - per_word)
                with m.If(left == per_word):
                    m.d.sync += rest.eq(rest_words)
            else:
                m.d.sync += hold.eq(hold + 1)
                with m.If(hold == words_per_bit - 1):
                    m.d.comb += shifted.eq(line >> 1)
                    m.d.sync += left.eq(left - 1)
                    with m.If(left == 1):
                        m.d.sync += rest.eq(rest_words)
        m.d.sync += line.eq(shifted)

        # the departure and its share of the CRC, as line bits (start and stop bits 0), in the
        # line as it is after the frame's first word has left
        first_shift = per_word if words_per_bit == 1 else 0
        departure_byte = _field_byte("departure")
        deltas = _departure_crc_deltas()
        crc_share = Signal(16)
        m.d.comb += crc_share.eq(Cat(*(Cat(*(word_time[j] for j in range(TIME_WIDTH) if deltas[j] >> b & 1)).xor()
                                       for b in range(16))))

        def data_bits(frame_bytes):         # symbols with their start and stop bits 0
            return Cat(*(Cat(Const(0, 1), byte, Const(0, 1)) for byte in frame_bytes))

        patch = Signal(FRAME_BITS)
        m.d.comb += patch.eq(Cat(Const(0, SYMBOL_BITS * departure_byte),
                                 data_bits([word_time.word_select(i, 8) for i in range(8)]),
                                 Const(0, SYMBOL_BITS * (MESSAGE_BYTES - departure_byte - 8)),
                                 data_bits([crc_share[8:], crc_share[:8]])))

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.messages.ready.eq((left == 0) & (rest == 0))
                with m.If(self.messages.valid & self.messages.ready):
                    m.d.sync += [message.eq(self.messages.payload), index.eq(0)]
                    m.d.comb += crc.start.eq(1)
                    m.next = "CRC"
            with m.State("CRC"):
                m.d.comb += [crc.data.eq(body.word_select(index, 8)), crc.valid.eq(index < MESSAGE_BYTES)]
                m.d.sync += index.eq(index + 1)
                with m.If(index == MESSAGE_BYTES):      # (the CRC register holds the last byte's result)
                    frame = [body.word_select(i, 8) for i in range(MESSAGE_BYTES)] + [crc.crc[8:], crc.crc[:8]]
                    m.d.sync += [line.eq(byte_bits(frame)), left.eq(FRAME_BITS), hold.eq(0)]
                    m.next = "PATCH"
            with m.State("PATCH"):
                # the frame's first word is at ``samples``: its time is the departure (its bits
                # are 0 in the line so far, the CRC holds a zero departure's)
                m.d.sync += [line.eq(shifted ^ (patch >> first_shift)), self.departure.eq(word_time)]
                m.next = "IDLE"
        return m


class PeerRx(wiring.Component):
    """Finds frames in one input's sample words, ``now`` being the time of the
    word's first sample; each good one goes out on ``received`` with its
    arrival tick (its first high sample's), a cycle or two after its last bit.

    Every frame that is not delivered is counted by name: ``crc_error_inc``
    (a wrong CRC), ``framing_error_inc`` (a start or stop bit that is wrong:
    the frame ends at it) and ``overrun_inc`` (a good frame that found
    ``received`` still full). After any frame the receiver waits for
    ``IDLE_BITS`` bit times of low line before it takes an edge for a start
    (qnu.sync.decode_line is the reference)."""

    def __init__(self, *, samples_per_cycle, bit_ticks):
        n = samples_per_cycle
        if bit_ticks < 2 or bit_ticks & (bit_ticks - 1):
            raise ValueError(f"bit_ticks must be a power of two, at least 2, not {bit_ticks}")
        if IDLE_BITS * bit_ticks < 2 * n:
            raise ValueError("the idle time must cover two words: use longer bits")
        self.n, self.bit_ticks = n, bit_ticks
        super().__init__({
            "now":               In(TIME_WIDTH),
            "samples":           In(n),
            "received":          Out(stream.Signature(RECEIVED)),
            "busy":              Out(1),
            "crc_error_inc":     Out(1),
            "framing_error_inc": Out(1),
            "overrun_inc":       Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        n, bt = self.n, self.bit_ticks
        per_word, _ = _frame_words(n, bt)
        idle = IDLE_BITS * bt
        word = self.samples

        # --- the start: the first high sample after enough low ones (on the word as it comes) ---
        low = Signal(range(idle + 1))           # low ticks before this word, saturating
        blackout = Signal(range(idle + 1))      # ticks of this word and on that may not start a frame
        any_high = word.any()
        first = Signal(range(n))
        for i in reversed(range(n)):
            with m.If(word[i]):
                m.d.comb += first.eq(i)
        last = Signal(range(n))
        for i in range(n):
            with m.If(word[i]):
                m.d.comb += last.eq(i)
        m.d.sync += low.eq(Mux(any_high, n - 1 - last, Mux(low + n > idle, idle, low + n)))
        m.d.sync += blackout.eq(Mux(blackout > n, blackout - n, 0))
        start = Signal()
        m.d.comb += start.eq(~self.busy & any_high & (low + first >= idle) & (first >= blackout))

        # --- the bits, read at their middles from the word a cycle later ---
        delayed = Signal(n)
        m.d.sync += delayed.eq(word)
        centre = Signal(range(n + bt))          # the next bit's middle, from the delayed word's first tick
        reading = Signal()                      # the delayed word holds bits of the frame
        bit_index = Signal(range(SYMBOL_BITS))
        symbol = Signal(8)
        byte_count = Signal(range(FRAME_BYTES + 1))
        arrival = Signal(TIME_WIDTH)

        # bits read this cycle, in turn: each may end the frame or complete a byte
        byte_done, byte_value, frame_done = Signal(), Signal(8), Signal()
        ended, end_at = Signal(), Signal(range(n))
        framing_error = Signal()
        alive = reading
        position = centre
        index, sym, count = bit_index, symbol, byte_count
        for j in range(per_word):
            here = Signal(name=f"here{j}")
            m.d.comb += here.eq(alive & (position < n))
            bit = delayed.bit_select(position[:max(1, (n - 1).bit_length())], 1) if n > 1 else delayed[0]
            bad = Mux(index == 0, ~bit, Mux(index == SYMBOL_BITS - 1, bit, 0))
            completes = here & ~bad & (index == SYMBOL_BITS - 1)
            last_byte = completes & (count == FRAME_BYTES - 1)
            with m.If(here & bad):
                m.d.comb += [framing_error.eq(1), ended.eq(1), end_at.eq(position)]
            with m.If(completes):
                m.d.comb += [byte_done.eq(1), byte_value.eq(sym)]
            with m.If(last_byte):
                m.d.comb += [ended.eq(1), end_at.eq(position), frame_done.eq(1)]
            new_index = Signal(range(SYMBOL_BITS), name=f"index{j}")
            new_sym = Signal(8, name=f"symbol{j}")
            new_count = Signal(range(FRAME_BYTES + 1), name=f"count{j}")
            m.d.comb += [new_index.eq(Mux(here, Mux(index == SYMBOL_BITS - 1, 0, index + 1), index)),
                         new_sym.eq(Mux(here & (index != 0) & (index != SYMBOL_BITS - 1), Cat(sym[1:], bit), sym)),
                         new_count.eq(count + completes)]
            next_alive = Signal(name=f"alive{j}")
            m.d.comb += next_alive.eq(alive & ~(here & (bad | last_byte)))
            alive, index, sym, count = next_alive, new_index, new_sym, new_count
            position = Mux(here, position + bt, position)
        read = Signal(range(n + bt))            # the next middle after this cycle's, from the delayed word
        m.d.comb += read.eq(position)

        with m.If(reading):
            m.d.sync += [bit_index.eq(index), symbol.eq(sym), byte_count.eq(count), centre.eq(read - n)]
            with m.If(ended):
                m.d.sync += [reading.eq(0), self.busy.eq(0),
                             # the next start must come IDLE ticks after the last bit read
                             blackout.eq(Mux(end_at + 1 + idle > 2 * n, end_at + 1 + idle - 2 * n, 0))]
        with m.If(start):
            m.d.sync += [self.busy.eq(1), reading.eq(1), centre.eq(first + bt // 2), bit_index.eq(0),
                         byte_count.eq(0), arrival.eq(self.now + first)]
        m.d.comb += self.framing_error_inc.eq(reading & framing_error)

        # --- the bytes: CRC and the frame's fields, a cycle later ---
        m.submodules.crc = crc = _crc()
        body = Signal(8 * FRAME_BYTES)
        stored, stored_valid, stored_last = Signal(8), Signal(), Signal()
        m.d.sync += [stored.eq(byte_value), stored_valid.eq(reading & byte_done),
                     stored_last.eq(reading & frame_done)]
        with m.If(start):
            m.d.comb += crc.start.eq(1)
        m.d.comb += [crc.data.eq(stored), crc.valid.eq(stored_valid)]
        with m.If(stored_valid):
            m.d.sync += body.eq(Cat(body[8:], stored))
        frame_arrival = Signal(TIME_WIDTH)
        checking = Signal()
        m.d.sync += checking.eq(stored_last)
        with m.If(stored_last):
            m.d.sync += frame_arrival.eq(arrival)

        out = self.received
        with m.If(out.ready):
            m.d.sync += out.valid.eq(0)
        good = checking & crc.match_detected
        m.d.comb += [self.crc_error_inc.eq(checking & ~crc.match_detected),
                     self.overrun_inc.eq(good & out.valid & ~out.ready)]
        with m.If(good & ~self.overrun_inc):
            m.d.sync += [out.valid.eq(1), out.payload.arrival.eq(frame_arrival)]
            m.d.sync += out.payload.message.eq(body[:8 * MESSAGE_BYTES])
        return m
