"""The README's bench script runs as written, against `qnu sim serve --dg645` (its port and
resource strings swapped for the served ones)."""

import re
from pathlib import Path

from qnu.sim.instruments.dg645_model import DG645Model, parse_wiring
from qnu.sim.instruments.server import InstrumentServer
from qnu.sim.virtual_board import VirtualBoard

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_bench_script_runs(tmp_path, monkeypatch):
    text = README.read_text()
    script = text.split("The same as a script:", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    model = DG645Model(parse_wiring("A:0,B:1:7.5ns,C:2:12.5ns,D:3:3ns"))
    with VirtualBoard(sources=[model], live=True) as vb, InstrumentServer(model) as server:
        script = script.replace("/dev/pts/7", vb.path)
        script = re.sub(r"TCPIP0::127\.0\.0\.1::\d+::SOCKET", server.resource, script)
        script = script.replace('"build/skew"', repr(str(tmp_path / "skew")))
        scope = {}
        exec(compile(script, "README.md", "exec"), scope)
    assert (tmp_path / "skew" / "skew.json").exists()
    assert scope["result"].passed and len(scope["g2"]) == 1000 and len(scope["taus"]) > 3
