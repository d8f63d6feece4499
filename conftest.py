"""Shared pytest fixtures: figures the tests print at the end of the run."""

import pytest


@pytest.fixture(autouse=True)
def _calibration_dir(tmp_path_factory, monkeypatch):
    """Each test keeps skew calibrations in its own folder: a pseudo-terminal's path is
    reused from board to board, and one test's corrections must not reach another's node."""
    monkeypatch.setenv("QNU_CALIBRATION_DIR", str(tmp_path_factory.mktemp("calibration")))

_FIGURES = []


@pytest.fixture
def figures(request):
    """Call with a line of text to print it in the run's 'QNU figures' summary.

    The line travels in the test report, so it reaches the summary from
    pytest-xdist workers too.
    """
    return lambda line: request.node.user_properties.append(("qnu_figure", line))


def pytest_runtest_logreport(report):
    if report.when == "call":
        _FIGURES.extend(v for k, v in report.user_properties if k == "qnu_figure")


def pytest_terminal_summary(terminalreporter):
    if _FIGURES:
        terminalreporter.section("QNU figures")
        for line in sorted(_FIGURES):
            terminalreporter.write_line(line)


# The suite's longest work, started first: on CI's two cores the board builds
# (minutes each) and the gate-level netlist groups would otherwise land late,
# one behind another on one worker, while the other worker ran out of tests.
# Longest first, everything else after in collection order.
_LONGEST_FIRST = [
    "boards/test_build.py::test_board_builds_with_timing_met[ulx3s-ddr]",
    "boards/test_build.py::test_board_builds_with_timing_met[orangecrab-ddr]",
    "boards/test_build.py::test_board_builds_with_timing_met[ulx3s-x2]",
    "sim/test_postsynth_core.py::test_netlist[icarus-ice40",
    "sim/test_postsynth_core.py::test_netlist[icarus-ecp5",
    "boards/test_build.py::test_board_builds_with_timing_met[icebreaker",
]


def pytest_collection_modifyitems(items):
    def rank(item):
        for i, prefix in enumerate(_LONGEST_FIRST):
            if item.nodeid.startswith(prefix):
                return i
        return len(_LONGEST_FIRST)
    items.sort(key=rank)        # stable: the rest keeps its order
