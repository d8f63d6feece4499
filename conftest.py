"""Shared pytest fixtures: figures the tests print at the end of the run."""

import pytest

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
