"""The sync block end to end: the host configures the gateware node on a virtual
board whose down port is cabled to its own up port, both ways. The reference is
the two-way formula on the cables' delays (the virtual board's PHYs add none):
with ``t2 - t1`` the up-to-down cable ``U`` and ``t4 - t3`` the down-to-up
cable ``D``, the delay is ``(U + D) / 2`` and the offset ``(U - D) / 2``."""

import time

import pytest

from qnu.host import Device
from qnu.host.sync import ServoState, SyncRefused
from qnu.sim.virtual_board import Loopback, VirtualBoard

UP_TO_DOWN_PS = 12_500          # output 1 (the up port's) to input 1 (the down port's): 5 ticks
DOWN_TO_UP_PS = 5_000           # output 0 (the down port's) to input 0 (the up port's): 2 ticks


def looped_board():
    return VirtualBoard(channels=2, samples_per_cycle=4, clock_hz=100_000_000, outputs=2,
                        loopbacks=[Loopback(0, 0, DOWN_TO_UP_PS), Loopback(1, 1, UP_TO_DOWN_PS)])


def wait_for(condition, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.05)


def test_a_node_looped_to_itself_measures_the_cables_and_locks_with_them_as_its_latencies():
    with looped_board() as board, Device(board.path, timeout=5) as dev:
        # measuring only: the two-way formula on the cables
        dev.sync.configure(up=(1, 0), down=(0, 1), interval_log2=8)
        wait_for(lambda: dev.sync.counts()["exchanges"] >= 3)
        status = dev.sync.status()
        assert status.state == ServoState.FREE and status.up_link and status.down_link
        assert status.delay_ps == pytest.approx((UP_TO_DOWN_PS + DOWN_TO_UP_PS) / 2)
        assert status.offset_ps == pytest.approx((UP_TO_DOWN_PS - DOWN_TO_UP_PS) / 2)
        # following, with the cables as fixed latencies: no offset left, locked, no step taken
        dev.sync.configure(up=(1, 0), down=(0, 1), follow=True, interval_log2=8, lock_count=4,
                           fixed_there_ps=UP_TO_DOWN_PS, fixed_back_ps=DOWN_TO_UP_PS)
        wait_for(lambda: dev.sync.status().state == ServoState.LOCKED)
        status = dev.sync.status()
        assert status.offset_ps == 0 and status.delay_ps == pytest.approx(UP_TO_DOWN_PS)
        assert status.rate_ppb == 0 and status.locked_for_s > 0
        assert status.peer_state in (ServoState.ACQUIRING, ServoState.LOCKED, ServoState.FREE)
        # while locked, every frame arrives whole (before, the ports were off and on: frames were cut
        # and the pulse per period, output 0's source, reached the up port)
        before = status.counts
        wait_for(lambda: dev.sync.counts()["up_frames"] >= before["up_frames"] + 5)
        after = dev.sync.counts()
        grew = {name: after[name] - before[name] for name in after}
        assert grew["down_frames"] > 0 and grew["exchanges"] > 0
        assert {name: n for name, n in grew.items() if n and not name.endswith(("frames", "exchanges"))} == {}
        assert dev.sync.status().state == ServoState.LOCKED
        dev.sync.disable()
        assert dev.regs["sync_ctrl"] & 7 == 0


def test_bad_sync_settings_are_refused_before_anything_is_written():
    with looped_board() as board, Device(board.path, timeout=5) as dev:
        before = dev.regs["sync_ctrl"]
        for kwargs in (dict(follow=True), dict(up=(5, 0)), dict(up=(0, 9)), dict(up=(0, 0), interval_log2=3),
                       dict(up=(0, 0), alpha=2.0), dict(up=(0, 0), lock_count=0)):
            with pytest.raises(SyncRefused):
                dev.sync.configure(**kwargs)
        assert dev.regs["sync_ctrl"] == before


def test_qnu_sync_calibrate_finds_no_latency_on_the_virtual_board_and_status_reports(capsys):
    """The virtual board's PHYs add nothing: less the cables, both paths measure 0 ps."""
    from qnu.host.cli import main
    from qnu.host.cli_sync import calibrate_latencies
    with looped_board() as board:
        with Device(board.path, timeout=5) as dev:
            before = dev.regs.read("sync_ctrl", "sync_up_pins", "sync_down_pins")
            assert calibrate_latencies(dev, (1, 0), (0, 1), (UP_TO_DOWN_PS, DOWN_TO_UP_PS)) == (0.0, 0.0)
            assert dev.regs.read("sync_ctrl", "sync_up_pins", "sync_down_pins") == before
        main(["sync", "calibrate", "--port", board.path, "--up", "1:0", "--down", "0:1",
              "--cables", "12.5ns,5ns"])
        assert "--fixed-there-ps and --fixed-back-ps 0.0" in capsys.readouterr().out
        main(["sync", "start", "--port", board.path, "--up", "1:0", "--down", "0:1"])
        wait_for(lambda: "delay          8,750.0 ps" in _status(main, board, capsys))
        assert "state          free" in _status(main, board, capsys)
        main(["sync", "stop", "--port", board.path])


def _status(main, board, capsys):
    main(["sync", "status", "--port", board.path])
    return capsys.readouterr().out
