"""Shared pytest fixtures: figures the tests print at the end of the run."""

import pytest

_FIGURES = []


@pytest.fixture
def figures():
    """Call with a line of text to print it in the run's 'QNU figures' summary."""
    return _FIGURES.append


def pytest_terminal_summary(terminalreporter):
    if _FIGURES:
        terminalreporter.section("QNU figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)
