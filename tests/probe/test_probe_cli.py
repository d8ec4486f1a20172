"""`iotmark scan device`: writes DIR/bundle.json in the spine's shape; bad input is one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from iotmark.collect.probe.cli import app, parse_ports
from iotmark.model import Bundle


def test_port_lists_and_ranges_parse() -> None:
    assert parse_ports("22,80,8000-8002") == [22, 80, 8000, 8001, 8002]
    assert parse_ports("all") is None


def test_bad_port_range_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["device", "127.0.0.1", "--ports", "70000", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == ["error: --ports: port range '70000' is outside 1-65535"]


def test_scan_device_writes_a_probe_bundle(hardened_lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "scan"
    result = CliRunner().invoke(app, ["device", hardened_lab.address, "--ports", "22,443", "--no-udp",
                                      "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    bundle = Bundle.model_validate_json((out / "bundle.json").read_text())
    assert bundle.target.device_class == "consumer-general"
    (source,) = bundle.sources
    assert (source.kind, source.name, len(source.sha256)) == ("probe", hardened_lab.address, 64)
    assert {f.check for f in bundle.findings} == {"probe.ports.exposed_services", "probe.ssh.reviewed",
                                                  "probe.ssh.known_vulnerability",
                                                  "probe.credentials.rejected", "probe.tls.reviewed"}
    assert summary["digest"] == bundle.digest()


def test_cli_module_imports_only_typer_and_the_standard_library() -> None:
    import subprocess
    import sys

    code = ("import sys; import iotmark.collect.probe.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rich','pydantic','yaml','sslyze','asyncssh')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert isinstance(app, typer.Typer)
