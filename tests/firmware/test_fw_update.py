"""Update mechanism: unsigned flashing over cleartext vs. signature verification before flashing."""

from __future__ import annotations

from iotmark.collect.firmware.corpus import Corpus
from iotmark.collect.firmware.update import update_findings


def _outcomes(findings):
    return [(f.check, f.outcome, f.evidence.path, f.evidence.line) for f in findings]


def test_weak_root_wget_over_http_then_mtd_write(weak):
    [finding] = [f for f in weak.findings if f.check.startswith("firmware.update.")]
    assert _outcomes([finding]) == [("firmware.update.unsigned", "fail", "/usr/sbin/fw_update.sh", 3)]
    assert finding.evidence.excerpt == 'wget -O /tmp/fw.bin "$URL" && mtd write /tmp/fw.bin firmware'
    assert "cleartext protocol (line 3)" in finding.detail
    assert "etsi-en-303-645:5.3-2" in finding.provisions


def test_clean_root_verifies_with_usign_before_sysupgrade(clean):
    [finding] = [f for f in clean.findings if f.check.startswith("firmware.update.")]
    assert _outcomes([finding]) == [("firmware.update.signature_verified", "pass", "/usr/sbin/fw_update.sh", 6)]
    assert "/etc/opkg/keys/b5043e70f9a75cde" in finding.detail


def test_openssl_verification_counts_as_signed():
    script = ("#!/bin/sh\ncurl -o /tmp/fw https://fw.example/fw.img\n"
              "openssl dgst -sha256 -verify /etc/fw.pub -signature /tmp/fw.sig /tmp/fw\n"
              "dd if=/tmp/fw of=/dev/mtdblock3\n")
    assert _outcomes(update_findings(Corpus(texts={"sbin/upgrade.sh": script}))) == [
        ("firmware.update.signature_verified", "pass", "/sbin/upgrade.sh", 3)]


def test_https_download_without_signature_is_still_unsigned():
    script = "#!/bin/sh\nwget -O /tmp/fw https://fw.example/fw.img\nsysupgrade -n /tmp/fw\n"
    [finding] = update_findings(Corpus(texts={"usr/bin/autoupdate": script}))
    assert _outcomes([finding]) == [("firmware.update.unsigned", "fail", "/usr/bin/autoupdate", 3)]
    assert "downloads (line 2)" in finding.detail and finding.confidence == 1.0


def test_local_flash_helper_behind_a_verifying_script_is_not_reported():
    texts = {"usr/sbin/fetch.sh": "#!/bin/sh\nwget https://fw.example/f -O /tmp/f\nusign -V -m /tmp/f -P /etc/keys\n"
                                  "/usr/sbin/flash.sh /tmp/f\n",
             "usr/sbin/flash.sh": "#!/bin/sh\nmtd -r write \"$1\" firmware\n"}
    assert _outcomes(update_findings(Corpus(texts=texts))) == [
        ("firmware.update.signature_verified", "pass", "/usr/sbin/fetch.sh", 3)]


def test_tftp_fetch_is_cleartext():
    script = "#!/bin/sh\ntftp -g -r fw.bin -l /tmp/fw.bin 192.168.1.2\nmtd write /tmp/fw.bin linux\n"
    [finding] = update_findings(Corpus(texts={"sbin/tftpupdate.sh": script}))
    assert "cleartext protocol (line 2)" in finding.detail


def test_no_update_script_is_not_tested():
    [finding] = update_findings(Corpus(texts={"etc/init.d/rcS": "#!/bin/sh\nmount -a\n"}))
    assert (finding.check, finding.outcome) == ("firmware.update.reviewed", "not_tested")
