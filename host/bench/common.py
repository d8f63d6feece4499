"""What every bench routine shares: its result file, its plot, and the safe exit."""

import contextlib
import json
import logging
from pathlib import Path

import numpy as np

__all__ = ["BenchResult", "measuring", "restoring", "write_result", "plt"]

log = logging.getLogger(__name__)


def plt():
    """matplotlib's pyplot on the headless Agg backend."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot
    return pyplot


class BenchResult(dict):
    """A routine's result: a dict written as JSON. ``complete`` is False when it
    was interrupted (``interrupted`` says by what); what was measured is kept."""

    def __init__(self, routine, **fields):
        super().__init__(routine=routine, complete=False, **fields)

    def interrupted_by(self, error):
        self["interrupted"] = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def write_result(result, output, name, plot=None):
    """Write ``DIR/NAME.json`` and, if ``plot(result, path)`` is given, ``DIR/NAME.png``;
    returns the JSON path. A plot that fails does not lose the JSON."""
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(_plain(result), indent=2) + "\n")
    if plot is not None:
        try:
            plot(result, out / f"{name}.png")
        except Exception as e:                      # (the numbers matter more than the picture)
            log.error("could not plot %s: %s", name, e)
            result["plot_error"] = str(e)
            path.write_text(json.dumps(_plain(result), indent=2) + "\n")
    return path


@contextlib.contextmanager
def restoring(what, undo):
    """Run ``undo()`` on the way out, whatever happened; an error in it is logged, not raised
    over the error that brought us here."""
    try:
        yield
    finally:
        try:
            undo()
        except Exception as e:
            log.error("could not restore %s: %s", what, e)


@contextlib.contextmanager
def measuring(result, output=None, plot=None):
    """A routine's measurement: ``result`` is complete if the block ends normally, else
    ``interrupted`` says by what (the error goes on); ``DIR/ROUTINE.json`` and its plot
    are written into ``output`` (if given) either way, with what was measured."""
    try:
        yield result
    except (KeyboardInterrupt, Exception) as e:
        result.interrupted_by(e)
        raise
    else:
        result["complete"] = True
    finally:
        if output is not None:
            write_result(result, output, result["routine"], plot)
