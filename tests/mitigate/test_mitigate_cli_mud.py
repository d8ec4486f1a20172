"""The `mud` commands: validate's JSON contract and exit codes, generate, sign and verify round trip."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from iotmark.mitigate.cli import app

runner = CliRunner()
DECLARATION = {
    "schema": "iotmark-declaration/1",
    "target": {"vendor": "Northwind Devices", "model": "SmartPlug P1", "firmware_version": "1.4.2",
               "device_class": "consumer-low"},
    "answers": {"mud_url": "https://northwind.example/mud/p1.json",
                "network_endpoints": [{"peer": "cloud.northwind.example", "protocol": "tcp", "port": 443}]},
}


def generated(tmp_path: Path) -> Path:
    decl = tmp_path / "declaration.yaml"
    decl.write_text(yaml.safe_dump(DECLARATION))
    out = tmp_path / "p1.json"
    result = runner.invoke(app, ["mud", "generate", "-d", str(decl), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_generate_then_validate_is_valid(tmp_path):
    mud = generated(tmp_path)
    result = runner.invoke(app, ["mud", "validate", str(mud), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [{"file": str(mud), "valid": True, "errors": []}]


def test_validate_reports_each_file_and_exits_1(tmp_path):
    good = generated(tmp_path)
    bad = tmp_path / "bad.json"
    data = json.loads(good.read_text())
    data["ietf-mud:mud"]["cache-validity"] = 0
    bad.write_text(json.dumps(data))
    broken = tmp_path / "broken.json"
    broken.write_text('{"ietf-mud:mud": ')
    result = runner.invoke(app, ["mud", "validate", str(good), str(bad), str(broken), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {"file": str(good), "valid": True, "errors": []},
        {"file": str(bad), "valid": False,
         "errors": [{"path": "/ietf-mud:mud/cache-validity", "message": "invalid-type: not in range"}]},
        {"file": str(broken), "valid": False,
         "errors": [{"path": "/", "message": "invalid JSON at line 1 column 18: Expecting value"}]},
    ]


def test_missing_file_is_one_line_exit_2(tmp_path):
    result = runner.invoke(app, ["mud", "validate", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path / 'nope.json'}: no such file\n"


def test_bad_declaration_is_one_line_exit_2(tmp_path):
    decl = tmp_path / "d.yaml"
    decl.write_text("target: [unclosed")
    result = runner.invoke(app, ["mud", "generate", "-d", str(decl)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {decl}: invalid YAML: ")
    assert result.stderr.count("\n") == 1


def test_sign_and_verify_round_trip(tmp_path, pki_files):
    mud = generated(tmp_path)
    signed = runner.invoke(app, ["mud", "sign", str(mud), "--cert", str(tmp_path / "signer.pem"),
                                 "--key", str(tmp_path / "key.pem")])
    assert signed.exit_code == 0, signed.output
    sig = tmp_path / "p1.json.p7s"
    good = runner.invoke(app, ["mud", "verify", str(mud), str(sig), "--ca", str(tmp_path / "ca.pem")])
    assert good.exit_code == 0
    assert good.stdout == (f"{mud}: signature good, signed by CN=Northwind MUD signer,O=Northwind Devices "
                           "(sha256)\n")
    wrong_ca = runner.invoke(app, ["mud", "verify", str(mud), str(sig), "--ca", str(tmp_path / "other.pem")])
    assert wrong_ca.exit_code == 1
    assert wrong_ca.stderr == (f"error: {sig}: signature invalid: signer certificate does not chain to a "
                               "trusted certificate\n")
    mud.write_text(mud.read_text().replace("443", "444"))
    changed = runner.invoke(app, ["mud", "verify", str(mud), str(sig), "--ca", str(tmp_path / "ca.pem")])
    assert changed.exit_code == 1
    assert "content does not match the signed digest" in changed.stderr
