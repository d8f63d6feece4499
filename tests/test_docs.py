"""docs/registers.md and docs/protocol.md are what qnu.docs generates from the register map and wire protocol."""

from pathlib import Path

import pytest

from qnu import docs, wire

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("name, render", [("registers.md", docs.render_registers),
                                          ("protocol.md", docs.render_protocol)])
def test_checked_in_docs_are_up_to_date(name, render):
    path = DOCS / name
    assert path.exists(), f"{path} is missing: run `python -m qnu.docs`"
    assert path.read_text() == render(), f"{path} is stale: run `python -m qnu.docs` and commit the result"


def test_every_worked_example_decodes_back():
    # each "On the wire" block is a frame that qnu.wire parses, with the CRC the table shows
    text = docs.render_protocol()
    blocks = text.split("On the wire")[1:]
    assert len(blocks) >= 10
    for block in blocks:
        hex_line = block.split("```\n")[1].strip()
        body, = wire.SlipDecoder().feed(bytes.fromhex(hex_line))
        kind, _, _ = wire.parse_body(body)
        assert kind in set(wire.Command) | set(wire.Reply)


def test_protocol_doc_states_the_facts_a_client_needs():
    text = docs.render_protocol()
    for fact in ["8N1", "SLIP", 'crc16(b"123456789") == 0x29B1', "little-endian", "big-endian",
                 f"MAX_BURST | {wire.MAX_BURST}", "records_sent", *(c.name for c in wire.Command),
                 *(c.meaning for c in wire.ErrorCode)]:
        assert fact in text, fact


def test_write_docs_writes_both_files(tmp_path):
    written = docs.write_docs(tmp_path)
    assert sorted(p.name for p in written) == ["protocol.md", "registers.md"]
    assert (tmp_path / "registers.md").read_text() == docs.render_registers()
