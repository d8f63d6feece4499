"""The node's trigger outputs from the host: ``dev.outputs[k]``.

    dev.outputs[0].source = OutputSource.PULSE        # the timebase's pulse per period
    dev.outputs[1].source = OutputSource.SEQUENCER    # scheduled events and attempt pulses
    dev.outputs[2].level = True                       # a static high level
"""

from qnu.regmap import OutputSource

__all__ = ["Output", "Outputs", "OutputSource"]


class Output:
    """One trigger output: what drives it (``source``) and its static ``level``."""

    def __init__(self, device, index):
        self._dev, self.index = device, index

    @property
    def _reg(self):
        if not self._dev.features.selectable:
            raise ValueError(f"this node's outputs all carry the timebase's pulse (no out{self.index}_ctrl)")
        return f"out{self.index}_ctrl"

    @property
    def source(self):
        return OutputSource(self._dev.regs[self._reg] & 3)

    @source.setter
    def source(self, source):
        source = OutputSource(source)
        features = self._dev.features
        if source == OutputSource.SEQUENCER and not features.sequencer:
            raise ValueError("this node has no sequencer")
        if source == OutputSource.HERALD and not features.herald:
            raise ValueError("this node has no herald unit")
        level = self._dev.regs[self._reg] >> 2 & 1
        self._dev.regs[self._reg] = int(source) | level << 2

    @property
    def level(self):
        """The level the output holds while its source is LEVEL."""
        return bool(self._dev.regs[self._reg] >> 2 & 1)

    @level.setter
    def level(self, high):
        """Drive a static level: sets the source to LEVEL too."""
        self._dev.regs[self._reg] = int(OutputSource.LEVEL) | int(bool(high)) << 2

    def __repr__(self):
        return f"<output {self.index}: {self.source.name}>"


class Outputs:
    """The node's trigger outputs, indexable: ``dev.outputs[k]``."""

    def __init__(self, device):
        self._outputs = [Output(device, k) for k in range(device.features.outputs)]

    def __len__(self):
        return len(self._outputs)

    def __iter__(self):
        return iter(self._outputs)

    def __getitem__(self, k):
        if not (isinstance(k, int) and 0 <= k < len(self._outputs)):
            raise IndexError(f"output must be 0 to {len(self._outputs) - 1} (this node has "
                             f"{len(self._outputs)}), not {k!r}")
        return self._outputs[k]
