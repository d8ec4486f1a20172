"""`mud validate --workers N` on Dask worker processes gives exactly the serial output, in input order."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from iotmark.mitigate.cli import app
from iotmark.mitigate.mud import Endpoint, build_mud
from iotmark.mitigate.scale import _chunks, balanced_chunks

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


def test_captures_are_shared_out_by_size():
    # One big capture and ten small ones: the big one alone, the small ones together.
    assert balanced_chunks([10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 2) == [[0], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]
    # Contiguous halves would give 13 + 3; by size the loads are 8 and 8.
    groups = balanced_chunks([5, 4, 4, 1, 1, 1], 2)
    assert sorted(sum([5, 4, 4, 1, 1, 1][i] for i in g) for g in groups) == [8, 8]
    assert sorted(i for g in groups for i in g) == list(range(6))
    assert balanced_chunks([3, 3], 8) == [[0], [1]]
    assert balanced_chunks([], 2) == []


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


def test_flow_folder_on_workers_equals_serial(tmp_path):
    from mitigate_traffic import plug_traffic, tcp_session, write

    from iotmark.mitigate.scale import analyse_captures, captures_in

    frames = plug_traffic()
    for i in range(5):
        write(frames + tcp_session("192.168.1.50", f"198.51.100.{i + 1}", 41000 + i, 443, 2000.0 + i),
              tmp_path / f"c{i}.{'pcap' if i % 2 else 'pcapng'}", "pcap" if i % 2 else "pcapng")
    (tmp_path / "junk.pcap").write_bytes(b"not a capture at all")
    paths = captures_in(tmp_path)
    serial = analyse_captures(paths)
    assert analyse_captures(paths, workers=2) == serial
    assert [r["source"] for r in serial] == paths
    assert "error" in serial[-1] and all(r["flows"] for r in serial[:-1])
    cli_serial = runner.invoke(app, ["flows", "folder", str(tmp_path)])
    cli_parallel = runner.invoke(app, ["flows", "folder", str(tmp_path), "--workers", "2"])
    assert cli_serial.exit_code == cli_parallel.exit_code == 0
    assert cli_parallel.stdout == cli_serial.stdout
    assert json.loads(cli_serial.stdout) == serial


def _pid_after_a_pause(chunk):
    import os
    import time

    time.sleep(0.4)  # long enough that one process cannot take both tasks one after the other unnoticed
    return [os.getpid() for _ in chunk]


def test_each_worker_process_gets_its_own_task():
    """Dask's processes scheduler batches up to six ready tasks per worker unless told otherwise; with one coarse
    task per worker that ran everything in one process."""
    import os

    from iotmark.mitigate.scale import map_chunks

    pids = map_chunks(_pid_after_a_pause, ["a", "b"], workers=2, chunks_per_worker=1)
    assert len(set(pids)) == 2 and os.getpid() not in pids
