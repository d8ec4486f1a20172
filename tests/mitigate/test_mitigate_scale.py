"""`mud validate --workers N` on Dask worker processes gives exactly the serial output, in input order."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from iotmark.mitigate.cli import app
from iotmark.mitigate.mud import Endpoint, build_mud
from iotmark.mitigate.scale import _chunks

runner = CliRunner()


def _files(tmp_path: Path) -> list[Path]:
    paths = []
    for i in range(9):
        mud = build_mud(mud_url=f"https://vendor{i}.example/mud/{i}.json",
                        endpoints=[Endpoint(f"svc.vendor{i}.example", "tcp", 443 + i)],
                        manufacturer=f"Vendor {i}", model=f"Model {i}")
        if i % 4 == 1:
            mud["ietf-mud:mud"]["cache-validity"] = 0
        path = tmp_path / f"{8 - i:02d}.json"  # names out of order: output follows the arguments
        path.write_text(json.dumps(mud))
        paths.append(path)
    broken = tmp_path / "broken.json"
    broken.write_text('{"ietf-mud:mud": ')
    paths.insert(3, broken)
    return paths


def test_chunks_are_contiguous_and_complete():
    items = list(range(10))
    for parts in (1, 3, 4, 10, 20):
        chunks = _chunks(items, parts)
        assert [x for c in chunks for x in c] == items
        assert len(chunks) == min(parts, 10)


def test_workers_output_equals_serial(tmp_path):
    paths = [str(p) for p in _files(tmp_path)]
    serial = runner.invoke(app, ["mud", "validate", *paths, "--json"])
    parallel = runner.invoke(app, ["mud", "validate", *paths, "--json", "--workers", "2"])
    assert serial.exit_code == parallel.exit_code == 1
    assert parallel.stdout == serial.stdout
    results = json.loads(parallel.stdout)
    assert [r["file"] for r in results] == paths
    assert sum(not r["valid"] for r in results) == 3
    text_serial = runner.invoke(app, ["mud", "validate", *paths])
    text_parallel = runner.invoke(app, ["mud", "validate", *paths, "--workers", "2"])
    assert text_parallel.stdout == text_serial.stdout


def test_workers_all_valid_exit_0(tmp_path):
    paths = [str(p) for i, p in enumerate(_files(tmp_path)) if i != 3 and json.loads(p.read_text())
             ["ietf-mud:mud"].get("cache-validity") != 0]
    result = runner.invoke(app, ["mud", "validate", *paths, "--json", "--workers", "2"])
    assert result.exit_code == 0
    assert [r["file"] for r in json.loads(result.stdout)] == paths
