"""Every error a user can meet on purpose is a QnuError, and the CLI reports each the same way."""

import pytest

from qnu.errors import QnuError


def test_every_error_family_derives_from_qnu_error():
    from qnu.boards.build import BuildError, DoesNotFit, TimingNotMet
    from qnu.boards.flash import FlashError, NoProgrammer
    from qnu.boards.toolchain import ToolchainError
    from qnu.host import errors
    from qnu.host.calibrate import CalibrationError
    from qnu.sim.harness_build import HarnessBuildError
    from qnu.sim.netlist import NetlistError
    from qnu.sim.virtual_board import BoardError
    classes = [BuildError, DoesNotFit, TimingNotMet, FlashError, NoProgrammer, ToolchainError, CalibrationError,
               HarnessBuildError, NetlistError, BoardError] + \
        [getattr(errors, name) for name in errors.__all__]
    for cls in classes:
        assert issubclass(cls, QnuError), cls
    assert errors.QnuError is QnuError


def test_the_cli_reports_a_qnu_error_and_exits_1(monkeypatch, capsys):
    from qnu.boards import build as build_module
    from qnu.host import cli

    def fails(*args, **kw):
        raise build_module.BuildError("yosys failed for ulx3s (x2); the end of the log: ...")
    monkeypatch.setattr(build_module, "build", fails)
    with pytest.raises(SystemExit) as e:
        cli.main(["build", "--board", "ulx3s"])
    assert e.value.code == 1
    assert "qnu build: error: yosys failed for ulx3s" in capsys.readouterr().err
