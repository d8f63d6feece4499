"""Build the timing core's Verilog for Icarus or Verilator and run cocotb tests on it."""

import contextlib
import fcntl
import json
import os
from pathlib import Path

from cocotb_tools.runner import get_runner

from qnu.gateware import TimingCore
from .hdl import write_verilog
from .toolchain import VERILATOR_ARGS, simulator_env

__all__ = ["CoreBuild", "ComponentBuild", "SequencerBuild", "HeraldBuild", "BUILD_ROOT"]

BUILD_ROOT = Path(os.environ.get("QNU_BUILD", Path.cwd() / "build"))
TOPLEVEL = "qnu_core"



class CoreBuild:
    """One (simulator, core parameters) build, made once and reused."""

    def __init__(self, simulator, *, channels, samples_per_cycle, clock_hz=100_000_000,
                 counter_width=32, netlist=None, **core_args):
        self.simulator = simulator
        self.params = dict(channels=channels, samples_per_cycle=samples_per_cycle,
                           clock_hz=clock_hz, counter_width=counter_width)
        self.core_args = core_args
        # netlist: an FPGA family ("ice40", "ecp5") to simulate the core's
        # synthesized netlist with the vendor cell models (qnu.sim.netlist)
        self.netlist = netlist
        self.name = f"{simulator}-n{samples_per_cycle}-c{channels}"
        if netlist is not None:
            self.name += f"-{netlist}"
        if core_args:
            self.name += "".join(f"-{k}{v}" for k, v in sorted(core_args.items()))
        self.dir = BUILD_ROOT / "cocotb" / self.name
        self._runner = None

    @contextlib.contextmanager
    def _locked(self):
        # parallel test workers may build the same design: one at a time
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def build(self):
        simulator_env(self.simulator)
        with self._locked():
            self._build()
        return self

    def design(self):
        """The component to simulate."""
        return TimingCore(**self.params, **self.core_args)

    def _build(self):
        core = self.design()
        source = self.dir / f"{TOPLEVEL}.v"
        fresh = self.dir / "fresh.v"
        write_verilog(core, fresh, name=TOPLEVEL)
        # keep the old file (and the simulator's build) when nothing changed
        if not source.exists() or source.read_text() != fresh.read_text():
            fresh.replace(source)
        else:
            fresh.unlink()
        runner = get_runner(self.simulator)
        args = VERILATOR_ARGS if self.simulator == "verilator" else []
        sources = dict(sources=[source])
        if self.netlist is not None:
            from .netlist import VERILATOR_NETLIST_ARGS, synthesize
            self.synthesized = synthesize(core, self.netlist, name=TOPLEVEL)
            sources = self.synthesized.runner_build_args()
            if self.simulator == "verilator":
                args = args + VERILATOR_NETLIST_ARGS
        runner.build(**sources, hdl_toplevel=TOPLEVEL, build_dir=self.dir / "sim",
                     build_args=args, timescale=("1ns", "1ps"), log_file=self.dir / "build.log")
        self._runner = runner

    def test(self, testcase, *, test_module="qnu.sim.tb.core_tb", seed=1, scale=1.0, report=None,
             test_dir=None):
        """Run one cocotb test; raises (via cocotb's runner) if it fails."""
        if self._runner is None:
            self.build()
        env = {"QNU_CORE": json.dumps(dict(self.params, seed=seed, scale=scale))}
        if report is not None:
            env["QNU_REPORT"] = str(report)
        return self._runner.test(test_module=test_module, hdl_toplevel=TOPLEVEL,
                                 testcase=testcase, build_dir=self.dir / "sim",
                                 test_dir=test_dir or self.dir / "run", extra_env=env, seed=seed,
                                 timescale=("1ns", "1ps"))


class ComponentBuild(CoreBuild):
    """A build of one component other than the core: ``params`` go to :meth:`design`,
    and its cocotb tests live in ``TEST_MODULE``."""
    TEST_MODULE = None

    def __init__(self, simulator, kind, suffix, **params):
        self.simulator = simulator
        self.params = params
        self.core_args = {}
        self.netlist = None
        self.name = f"{kind}-{simulator}-{suffix}"
        self.dir = BUILD_ROOT / "cocotb" / self.name
        self._runner = None

    def test(self, testcase, *, seed=1, **kw):
        return super().test(testcase, test_module=self.TEST_MODULE, seed=seed, **kw)


class SequencerBuild(ComponentBuild):
    """The output sequencer (:class:`qnu.gateware.outputs.Sequencer`), for sim/tb/sequencer_tb.py."""
    TEST_MODULE = "qnu.sim.tb.sequencer_tb"

    def __init__(self, simulator, *, outputs, samples_per_cycle, depth):
        super().__init__(simulator, "sequencer", f"n{samples_per_cycle}-o{outputs}-d{depth}",
                         outputs=outputs, samples_per_cycle=samples_per_cycle, depth=depth)

    def design(self):
        from qnu.gateware.outputs import Sequencer
        return Sequencer(**self.params)


class HeraldBuild(ComponentBuild):
    """The herald unit (:class:`qnu.gateware.herald.HeraldUnit`), for sim/tb/herald_tb.py."""
    TEST_MODULE = "qnu.sim.tb.herald_tb"

    def __init__(self, simulator, *, samples_per_cycle):
        super().__init__(simulator, "herald", f"n{samples_per_cycle}", samples_per_cycle=samples_per_cycle)

    def design(self):
        from qnu.gateware.herald import HeraldUnit
        from .herald_scenarios import CHANNELS, OUTPUTS
        return HeraldUnit(channels=CHANNELS, outputs=OUTPUTS, **self.params)
