"""Tables from bench instruments' manuals, shared by the drivers
(:mod:`qnu.host.instruments`) and the simulated instruments
(:mod:`qnu.sim.instruments`), as :mod:`qnu.regmap` is by the gateware and the
host: numbering and error texts are the instrument's, not either side's."""

__all__ = ["DG645_DELAY_CHANNELS", "DG645_OUTPUTS", "DG645_TRIGGER_SOURCES", "DG645_ERRORS", "DG645_MAX_DELAY_S"]

# SRS DG645 manual, remote programming: channel numbers in DLAY, output numbers
# in LAMP/LOFF/LPOL, TSRC's trigger sources, and LERR?'s error codes.
DG645_DELAY_CHANNELS = {"T0": 0, "T1": 1, "A": 2, "B": 3, "C": 4, "D": 5, "E": 6, "F": 7, "G": 8, "H": 9}
DG645_OUTPUTS = {"T0": 0, "AB": 1, "CD": 2, "EF": 3, "GH": 4}
DG645_TRIGGER_SOURCES = {"internal": 0, "external rising": 1, "external falling": 2,
                         "single shot external rising": 3, "single shot external falling": 4,
                         "single shot": 5, "line": 6}
DG645_MAX_DELAY_S = 2000.0
DG645_ERRORS = {
    10: "Illegal Value", 11: "Illegal Mode", 12: "Illegal Delay", 13: "Illegal Link", 14: "Recall Failed",
    15: "Not Allowed", 16: "Failed Self Test", 17: "Failed Auto Calibration", 30: "Lost Data",
    32: "No Listener", 40: "Failed ROM Check", 110: "Illegal Command", 111: "Undefined Command",
    112: "Illegal Query", 113: "Illegal Set", 114: "Null Parameter", 115: "Extra Parameters",
    116: "Missing Parameters", 117: "Parameter Overflow", 118: "Invalid Floating Point Number",
    120: "Invalid Integer", 121: "Integer Overflow", 122: "Invalid Hexadecimal", 126: "Syntax Error",
    170: "Communication Error", 171: "Over run", 254: "Too Many Errors",
}
