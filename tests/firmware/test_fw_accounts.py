"""Accounts: hash schemes, default and empty passwords, hard-coded credentials."""

from __future__ import annotations

import json

from iotmark.collect.firmware.accounts import (account_findings, default_credentials, hardcoded_credential_findings,
                                               hash_scheme, verify_password)
from iotmark.collect.firmware.corpus import Corpus
from rootfs_builders import hash_password

ACCOUNT_CHECKS = ("firmware.accounts.default_credential", "firmware.accounts.empty_password",
                  "firmware.accounts.weak_hash")


def _where(analysis, *checks):
    return sorted((f.check, f.evidence.path, f.evidence.line, f.evidence.account)
                  for f in analysis.findings if f.check in checks)


def test_weak_root_reports_each_seeded_account_weakness(weak):
    assert _where(weak, *ACCOUNT_CHECKS) == [
        ("firmware.accounts.default_credential", "/etc/shadow", 1, "root"),
        ("firmware.accounts.default_credential", "/etc/shadow", 2, "admin"),
        ("firmware.accounts.default_credential", "/etc/shadow", 3, "support"),
        ("firmware.accounts.empty_password", "/etc/shadow", 4, "guest"),
        ("firmware.accounts.weak_hash", "/etc/shadow", 1, "root"),
        ("firmware.accounts.weak_hash", "/etc/shadow", 2, "admin"),
    ]


def test_cracked_root_password_names_the_mirai_list_and_masks_hash_and_password(weak):
    finding = next(f for f in weak.findings
                   if f.check == "firmware.accounts.default_credential" and f.evidence.account == "root")
    assert finding.evidence.excerpt == "root:$1$…:18000:0:99999:7:::"
    assert finding.evidence.hash_type == "MD5-crypt ($1$)"
    assert "x***1" in finding.detail and "Mirai" in finding.detail
    assert finding.severity == "critical" and finding.evidence.source == "weak.bin"
    assert "etsi-en-303-645:5.1-1" in finding.provisions


def test_des_hash_is_reported_by_type(weak):
    finding = next(f for f in weak.findings if f.check == "firmware.accounts.weak_hash" and f.evidence.account == "admin")
    assert finding.evidence.hash_type == "DES crypt"
    assert finding.evidence.excerpt == "admin:a…:18000:0:99999:7:::"


def test_no_password_or_hash_appears_in_any_finding(weak):
    dumped = json.dumps([f.model_dump(mode="json") for f in weak.findings])
    for secret in ("xc3511", "admin1234", "Sup3r2019", "$1$iotmark1$"):
        assert secret not in dumped


def test_hardcoded_credentials_in_web_config_and_nvram_defaults(weak):
    found = sorted((f.evidence.path, f.evidence.line, f.evidence.key, f.severity, f.evidence.excerpt)
                   for f in weak.findings if f.check == "firmware.accounts.hardcoded_credential")
    assert found == [
        ("/etc/nvram.default", 3, "http_passwd", "high", "http_passwd=S***9"),
        ("/etc/webui/server.conf", 6, "password", "critical", 'password = "a***4"'),
    ]


def test_clean_root_accounts_pass_with_every_account_listed(clean):
    findings = [f for f in clean.findings if f.check.startswith("firmware.accounts.")]
    assert [(f.check, f.outcome) for f in findings] == [("firmware.accounts.reviewed", "pass")]
    assert "root (SHA-512-crypt ($6$))" in findings[0].detail
    assert "admin (yescrypt ($y$))" in findings[0].detail


def test_passwd_pointing_to_missing_shadow_is_not_tested(twin_root):
    corpus = Corpus(image="twin.bin", texts={"etc/passwd": (twin_root / "etc/passwd").read_text()})
    [finding] = account_findings(corpus)
    assert (finding.check, finding.outcome) == ("firmware.accounts.reviewed", "not_tested")
    assert "no shadow file" in finding.detail


def test_image_without_account_files_is_not_tested():
    [finding] = account_findings(Corpus(image="x.bin", texts={"etc/hosts": "127.0.0.1 localhost\n"}))
    assert (finding.check, finding.outcome, finding.evidence.path) == ("firmware.accounts.reviewed", "not_tested", "/")


def test_busybox_style_passwd_with_hash_in_second_field():
    line = f"admin:{hash_password('1234', '$1$abcdefgh$')}:0:0:admin:/:/bin/sh\n"
    findings = account_findings(Corpus(image="x.bin", texts={"etc/passwd": line}))
    assert sorted((f.check, f.evidence.line) for f in findings) == [
        ("firmware.accounts.default_credential", 1), ("firmware.accounts.weak_hash", 1)]


def test_locked_account_without_login_shell_is_not_reported():
    texts = {"etc/passwd": "svc:x:5:5::/:/sbin/nologin\n", "etc/shadow": "svc::19000::::::\n"}
    findings = account_findings(Corpus(image="x.bin", texts=texts))
    assert [(f.check, f.outcome) for f in findings] == [("firmware.accounts.reviewed", "pass")]


def test_hash_schemes_are_named():
    assert [hash_scheme(h) for h in ("", "*", "!$6$x", "abJnggxhB/yWI", "$1$a$b", "$5$a$b", "$6$a$b", "$y$j9T$a$b",
                                     "$2b$10$abc", "_J9..abcdefghijklmno", "admin")] == [
        "none", "locked", "locked", "des", "md5", "sha256", "sha512", "yescrypt", "bcrypt", "bsdi", "plain"]


def test_yescrypt_verification_uses_libxcrypt():
    hashed = hash_password("vizxv", "$y$j9T$0123456789abcdef$")
    assert verify_password("vizxv", hashed) and not verify_password("vizxw", hashed)


def test_credential_list_holds_the_mirai_pairs_and_cites_sources():
    pairs = {(c.user, c.password) for c in default_credentials()}
    assert {("root", "xc3511"), ("root", "vizxv"), ("admin", ""), ("mother", "fucker"), ("pi", "raspberry")} <= pairs
    assert sum(1 for c in default_credentials() if c.source.startswith("Mirai")) == 61


def test_placeholders_and_variables_are_not_credentials():
    texts = {"etc/init.d/web": 'password="$1"\nPASS=${ADMIN_PASS:-}\nhttp_passwd=\n# password=admin\n',
             "www/app.js": "var password = form.password.value;\n"}
    assert hardcoded_credential_findings(Corpus(image="x.bin", texts=texts)) == []


def test_uci_and_xml_passwords_are_found():
    texts = {"etc/config/wireless": "config wifi-iface\n\toption key 'defaultkey123'\n",
             "etc/default.xml": "<config><AdminPassword>1234abcd</AdminPassword></config>\n"}
    found = sorted((f.evidence.path, f.evidence.line, f.evidence.excerpt)
                   for f in hardcoded_credential_findings(Corpus(image="x.bin", texts=texts)))
    assert found == [("/etc/config/wireless", 2, "option key 'd***3'"),
                     ("/etc/default.xml", 1, "<config><AdminPassword>1***d</AdminPassword></config>")]
