"""Signed manufacturer → operator notices: `share notice --sign KEY --cert CERT` and `share notice-verify`."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from iotmark.mitigate.cli import app

runner = CliRunner()
SIGNER = "CN=Northwind MUD signer,O=Northwind Devices"


def write_notice(tmp_path, pki_files, *extra: str):
    out = tmp_path / "notice.json"
    result = runner.invoke(app, ["share", "notice", "--manufacturer", "Northwind", "--affected", "Plug=1.0.2",
                                 "--summary", "Enlisted plugs.", "--indicator", "bad.example", "-o", str(out),
                                 "--sign", str(pki_files["key"]), "--cert", str(pki_files["signer"]), *extra])
    return out, result


def verify(notice, ca):
    return runner.invoke(app, ["share", "notice-verify", str(notice), str(notice) + ".p7s", "--ca", str(ca)])


def test_signed_notice_verifies_against_the_manufacturer_ca(tmp_path, pki_files):
    out, result = write_notice(tmp_path, pki_files)
    assert result.exit_code == 0, result.output
    assert result.stderr == f"notice written to {out} and {out.with_suffix('.md')}, signed in notice.json.p7s\n"
    assert json.loads(out.read_text())["manufacturer"] == "Northwind"
    good = verify(out, pki_files["ca"])
    assert good.exit_code == 0, good.output
    assert good.stdout == f"{out}: signature good, signed by {SIGNER} (sha256); notice from Northwind\n"


def test_tampered_notice_fails_with_one_line(tmp_path, pki_files):
    out, _ = write_notice(tmp_path, pki_files)
    out.write_text(out.read_text().replace("bad.example", "good.example"))
    result = verify(out, pki_files["ca"])
    assert result.exit_code == 1
    assert result.stderr == (f"error: {out}.p7s: signature invalid: content does not match the signed digest "
                             "(file changed after signing)\n")


def test_notice_signed_under_another_ca_is_refused(tmp_path, pki_files):
    out, _ = write_notice(tmp_path, pki_files)
    result = verify(out, pki_files["other"])
    assert result.exit_code == 1
    assert result.stderr == (f"error: {out}.p7s: signature invalid: signer certificate does not chain to a "
                             "trusted certificate\n")


def test_signing_needs_key_cert_and_output_together(tmp_path, pki_files):
    result = runner.invoke(app, ["share", "notice", "--manufacturer", "N", "--affected", "Plug", "--summary", "s",
                                 "--sign", str(pki_files["key"]), "--cert", str(pki_files["signer"])])
    assert result.exit_code == 2
    assert result.stderr == "error: notice: signing needs --sign KEY, --cert CERT and --output FILE together\n"
    assert not (tmp_path / "notice.json").exists()


def test_a_key_that_is_not_a_key_is_one_line(tmp_path, pki_files):
    pki_files["key"].write_text("not a key")
    out, result = write_notice(tmp_path, pki_files)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: notice: cannot sign: ")
    assert result.stderr.count("\n") == 1
    assert not out.exists()  # nothing is written unsigned when signing was asked for


def test_garbage_signature_file_is_one_line(tmp_path, pki_files):
    out, _ = write_notice(tmp_path, pki_files)
    (tmp_path / "notice.json.p7s").write_bytes(b"\x30\x82\xff\xff garbage")
    result = verify(out, pki_files["ca"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {out}.p7s: signature invalid: ")
    assert result.stderr.count("\n") == 1
