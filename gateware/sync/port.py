"""One end of a peer link: a frame every exchange interval, each echoing the
last frame from the peer; the exchanges the peer's frames complete."""

from amaranth.hdl import Module, Signal, Mux
from amaranth.lib import wiring, stream
from amaranth.lib.wiring import In, Out

from qnu.sync import MessageKind
from ..timing.event import TIME_WIDTH
from .peer_link import PeerTx, PeerRx
from .servo import EXCHANGE

__all__ = ["SyncPort", "ECHO_VALID", "LINK_TIMEOUT_INTERVALS"]

ECHO_VALID = 1                  # status bit: the echo fields hold a frame received lately
#: a port counts its link up while the peer's last good frame is this many intervals old or less;
#: an older frame is not echoed (its departure would mix clock drift into the peer's exchange)
LINK_TIMEOUT_INTERVALS = 4


class SyncPort(wiring.Component):
    """A :class:`PeerTx` and a :class:`PeerRx` and the bookkeeping of the
    two-way exchange (docs/sync.md): every ``2**interval_log2`` cycles while
    ``enable``, a frame with ``status`` (bits 1 and up) and the echo of the
    peer's last frame; each peer frame that echoes one of ours gives an
    exchange ``(t1, t2, t3, t4)`` on ``exchanges`` (a new one replaces one
    still waiting, counted in ``exchange_lost_inc``)."""

    def __init__(self, *, samples_per_cycle, bit_ticks, lead):
        self.n = samples_per_cycle
        self.tx = PeerTx(samples_per_cycle=samples_per_cycle, bit_ticks=bit_ticks, lead=lead)
        self.rx = PeerRx(samples_per_cycle=samples_per_cycle, bit_ticks=bit_ticks)
        super().__init__({
            "now":           In(TIME_WIDTH),
            "rx_now":        In(TIME_WIDTH),        # the time of ``rx_samples``'s first sample
            "enable":        In(1),
            "interval_log2": In(5),
            "status":        In(15),
            "rx_samples":    In(samples_per_cycle),
            "tx_samples":    Out(samples_per_cycle),
            "exchanges":     Out(stream.Signature(EXCHANGE)),
            "link_up":       Out(1),
            "peer_status":   Out(16),
            "frame_inc":     Out(1),
            "crc_error_inc": Out(1),
            "framing_error_inc": Out(1),
            "overrun_inc":   Out(1),
            "exchange_lost_inc": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        tx, rx = m.submodules.tx, m.submodules.rx = self.tx, self.rx
        m.d.comb += [tx.now.eq(self.now), rx.now.eq(self.rx_now), rx.samples.eq(self.rx_samples),
                     self.tx_samples.eq(tx.samples), rx.received.ready.eq(1),
                     self.crc_error_inc.eq(rx.crc_error_inc), self.framing_error_inc.eq(rx.framing_error_inc),
                     self.overrun_inc.eq(rx.overrun_inc)]

        # the interval's tick, and a frame asked for until the transmitter takes it
        timer = Signal(16)
        due = Signal()
        m.d.sync += timer.eq(timer + 1)
        with m.If(~self.enable):
            m.d.sync += [timer.eq(0), due.eq(0)]
        with m.Elif((timer & ((1 << self.interval_log2) - 1)) == 0):
            m.d.sync += due.eq(1)
        with m.If(tx.messages.valid & tx.messages.ready):
            m.d.sync += due.eq(0)

        # the peer's last good frame: its departure, its arrival, how long ago
        last_departure, last_arrival = Signal(TIME_WIDTH), Signal(TIME_WIDTH)
        # (out of reset no frame has come: stale, so nothing is echoed before a real peer frame)
        age = Signal(range((LINK_TIMEOUT_INTERVALS << 16) + 1), init=LINK_TIMEOUT_INTERVALS << 16)
        timeout = Signal.like(age)
        m.d.comb += [timeout.eq(LINK_TIMEOUT_INTERVALS << self.interval_log2), self.link_up.eq(age < timeout)]
        got = rx.received
        with m.If(got.valid):
            m.d.sync += [last_departure.eq(got.payload.message.departure), last_arrival.eq(got.payload.arrival),
                         age.eq(0), self.peer_status.eq(got.payload.message.status)]
        with m.Elif(age < timeout):
            m.d.sync += age.eq(age + 1)
        m.d.comb += self.frame_inc.eq(got.valid)

        msg = tx.messages.payload
        seq = Signal(8)
        m.d.comb += [tx.messages.valid.eq(due & self.enable),
                     msg.kind.eq(MessageKind.TIME), msg.seq.eq(seq),
                     msg.status.eq(Mux(self.link_up, ECHO_VALID, 0) | (self.status << 1)),
                     msg.echo_departure.eq(last_departure), msg.echo_arrival.eq(last_arrival)]
        with m.If(tx.messages.valid & tx.messages.ready):
            m.d.sync += seq.eq(seq + 1)

        # an exchange from each peer frame that echoes one of ours
        out = self.exchanges
        echoes = got.valid & got.payload.message.status[0] & self.enable
        with m.If(out.ready):
            m.d.sync += out.valid.eq(0)
        with m.If(echoes):
            message = got.payload.message
            m.d.sync += [out.valid.eq(1), out.payload.t1.eq(message.echo_departure),
                         out.payload.t2.eq(message.echo_arrival), out.payload.t3.eq(message.departure),
                         out.payload.t4.eq(got.payload.arrival)]
        m.d.comb += self.exchange_lost_inc.eq(echoes & out.valid & ~out.ready)
        return m
