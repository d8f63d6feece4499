"""The herald unit's decision table: outcomes, patterns and the two schemes' presets.

Pure Python, importable without Amaranth, like :mod:`qnu.regmap`: the gateware,
the host library and the herald model all take their table layout from here.

A *pattern* is which detectors clicked in which window of one attempt: bit
``window * MAX_DETECTORS + detector`` is set when that detector clicked at
least once in that window. Whether any detector clicked more than once in a
window is kept apart (``multi``): such an attempt takes the outcome
``multi_outcome`` (by default REJECT), whatever its pattern. The table maps
each of the ``TABLE_ENTRIES`` patterns to an :class:`Outcome`.
"""

import enum

__all__ = ["Outcome", "MAX_DETECTORS", "MAX_WINDOWS", "TABLE_ENTRIES", "TABLE_WORDS", "ENTRIES_PER_WORD",
           "pattern_bit", "single_click_table", "barrett_kok_table", "pack_table", "unpack_table",
           "SCHEMES", "scheme_table", "INPUT_REFERENCE_LEAD_CYCLES",
           "FIXED_DETECTOR_CHANNELS", "FIXED_REFERENCE_CHANNEL"]

MAX_DETECTORS = 4
MAX_WINDOWS = 2
TABLE_ENTRIES = 1 << (MAX_DETECTORS * MAX_WINDOWS)
#: where a build with fixed herald channels (Features.herald_fixed) takes its
#: detectors (detector d on input d) and its input reference: such a build
#: saves the channel selection in front of each detector's dead-time logic,
#: which its clock has no room for (docs/boards.md)
FIXED_DETECTOR_CHANNELS = (0, 1, 2, 3)
FIXED_REFERENCE_CHANNEL = 4

#: an input reference's windows open at least this many core cycles' worth of
#: ticks after its raw tick: the unit decides on the reference a cycle after
#: its word (which keeps the reference channel's edge logic out of the path
#: to the attempt's registers) and watches clicks from the word after that
INPUT_REFERENCE_LEAD_CYCLES = 2
ENTRIES_PER_WORD = 16               # two bits each in a 32-bit register
TABLE_WORDS = TABLE_ENTRIES // ENTRIES_PER_WORD


class Outcome(enum.IntEnum):
    """What an attempt's clicks say."""
    FAIL = 0            # no entanglement: too few clicks
    PSI_PLUS = 1        # heralded, Bell state psi+
    PSI_MINUS = 2       # heralded, Bell state psi-
    REJECT = 3          # ambiguous: more clicks than the scheme allows, or a multi-click

    @property
    def success(self):
        return self in (Outcome.PSI_PLUS, Outcome.PSI_MINUS)

    @property
    def key(self):
        """Its name in results and counters: fail, psi_plus, psi_minus, reject."""
        return self.name.lower()


def pattern_bit(detector, window):
    return 1 << (window * MAX_DETECTORS + detector)


def _clicked(pattern, window):
    """The detectors that clicked in ``window``."""
    return [d for d in range(MAX_DETECTORS) if pattern & pattern_bit(d, window)]


def single_click_table():
    """The single-click scheme (one window, detectors 0 and 1): exactly one
    click heralds, and which detector clicked names the state (detector 0
    psi+, detector 1 psi-); none fails; more is ambiguous."""
    table = []
    for pattern in range(TABLE_ENTRIES):
        clicks = _clicked(pattern, 0) + _clicked(pattern, 1)
        if not clicks:
            table.append(Outcome.FAIL)
        elif len(clicks) == 1 and pattern < pattern_bit(0, 1) and clicks[0] < 2:
            table.append(Outcome.PSI_PLUS if clicks[0] == 0 else Outcome.PSI_MINUS)
        else:
            table.append(Outcome.REJECT)
    return table


def barrett_kok_table():
    """Barrett-Kok (early and late windows, detectors 0 and 1): exactly one
    click in each window heralds; the same detector twice is psi+, different
    detectors psi-. Fewer clicks fail; more are ambiguous."""
    table = []
    for pattern in range(TABLE_ENTRIES):
        early, late = _clicked(pattern, 0), _clicked(pattern, 1)
        if any(d >= 2 for d in early + late) or len(early) > 1 or len(late) > 1:
            table.append(Outcome.REJECT)
        elif len(early) == 1 and len(late) == 1:
            table.append(Outcome.PSI_PLUS if early == late else Outcome.PSI_MINUS)
        else:
            table.append(Outcome.FAIL)
    return table


SCHEMES = {"single-click": (single_click_table, 1), "barrett-kok": (barrett_kok_table, 2)}


def scheme_table(scheme):
    """(table, windows) of a named scheme."""
    try:
        make, windows = SCHEMES[scheme]
    except KeyError:
        raise ValueError(f"unknown heralding scheme {scheme!r} (known: {', '.join(SCHEMES)})") from None
    return make(), windows


def pack_table(table):
    """The ``TABLE_WORDS`` register words of a table (entry ``i`` at bits ``2*(i % 16)`` of word ``i // 16``)."""
    table = [Outcome(o) for o in table]
    if len(table) != TABLE_ENTRIES:
        raise ValueError(f"a decision table has {TABLE_ENTRIES} entries, not {len(table)}")
    words = [0] * TABLE_WORDS
    for i, outcome in enumerate(table):
        words[i // ENTRIES_PER_WORD] |= int(outcome) << 2 * (i % ENTRIES_PER_WORD)
    return words


def unpack_table(words):
    return [Outcome(words[i // ENTRIES_PER_WORD] >> 2 * (i % ENTRIES_PER_WORD) & 3) for i in range(TABLE_ENTRIES)]
