"""Services at boot: inittab, rcS, init.d with rc.d links, procd/uci, systemd, inetd/xinetd."""

from __future__ import annotations

from iotmark.collect.firmware.corpus import Corpus
from iotmark.collect.firmware.services import service_findings

SERVICE_FAILS = ("firmware.services.telnetd", "firmware.services.debug_shell", "firmware.services.ssh_password_login",
                 "firmware.services.cleartext_service")


def _fails(findings):
    return sorted((f.check, f.evidence.path, f.evidence.line) for f in findings
                  if f.check in SERVICE_FAILS and f.outcome == "fail")


def test_weak_root_telnetd_uart_shell_and_dropbear_password_login(weak):
    assert _fails(weak.findings) == [
        ("firmware.services.debug_shell", "/etc/inittab", 2),
        ("firmware.services.ssh_password_login", "/etc/init.d/rcS", 6),
        ("firmware.services.telnetd", "/etc/init.d/rcS", 5),
    ]
    telnet = next(f for f in weak.findings if f.check == "firmware.services.telnetd")
    assert telnet.evidence.excerpt == "telnetd -l /bin/login"
    shell = next(f for f in weak.findings if f.check == "firmware.services.debug_shell")
    assert shell.evidence.excerpt == "ttyS0::askfirst:-/bin/sh"


def test_clean_root_lists_what_starts_and_ignores_killall_and_tests(clean):
    findings = [f for f in clean.findings if f.check.startswith("firmware.services.")]
    assert [(f.check, f.outcome) for f in findings] == [("firmware.services.reviewed", "pass")]
    assert ("dropbear (SSH server (Dropbear), /etc/init.d/rcS:5); dnsmasq (DNS/DHCP server, /etc/init.d/rcS:6); "
            "httpd (web server, /etc/init.d/rcS:7)") in findings[0].detail


def test_no_boot_configuration_is_not_tested():
    [finding] = service_findings(Corpus(image="x.bin", texts={"etc/hosts": "127.0.0.1 localhost\n"}))
    assert (finding.check, finding.outcome) == ("firmware.services.reviewed", "not_tested")


def test_procd_dropbear_reads_password_auth_from_uci():
    script = ("#!/bin/sh /etc/rc.common\nUSE_PROCD=1\nPROG=/usr/sbin/dropbear\nstart_service() {\n"
              "\tconfig_load dropbear\n\tprocd_open_instance\n\tprocd_set_param command \"$PROG\" -F -P /var/run/d.pid\n"
              "\tprocd_close_instance\n}\n")
    on = {"etc/init.d/dropbear": script, "etc/config/dropbear": "config dropbear\n\toption PasswordAuth 'on'\n"}
    off = {"etc/init.d/dropbear": script, "etc/config/dropbear": "config dropbear\n\toption PasswordAuth 'off'\n"}
    assert _fails(service_findings(Corpus(texts=on))) == [("firmware.services.ssh_password_login", "/etc/config/dropbear", 2)]
    assert _fails(service_findings(Corpus(texts=off))) == []


def test_init_script_not_linked_from_rc_d_does_not_start():
    texts = {"etc/init.d/telnet": "#!/bin/sh\nstart() {\n\t/usr/sbin/telnetd -l /bin/login\n}\n",
             "etc/init.d/dnsmasq": "#!/bin/sh\nstart() {\n\tdnsmasq -C /etc/dnsmasq.conf\n}\n"}
    linked_dnsmasq = {"etc/rc.d/S60dnsmasq": "../init.d/dnsmasq"}
    linked_telnet = {**linked_dnsmasq, "etc/rc.d/S50telnet": "../init.d/telnet"}
    assert _fails(service_findings(Corpus(texts=texts, links=linked_dnsmasq))) == []
    assert _fails(service_findings(Corpus(texts=texts, links=linked_telnet))) == [
        ("firmware.services.telnetd", "/etc/init.d/telnet", 3)]


def test_start_stop_daemon_variables_and_stop_lines():
    texts = {"etc/init.d/S50telnet": "#!/bin/sh\nDAEMON=/usr/sbin/utelnetd\n"
                                     "start-stop-daemon -S -b -x $DAEMON -- -p 23\n"
                                     "start-stop-daemon -K -x $DAEMON\n"}
    assert _fails(service_findings(Corpus(texts=texts))) == [("firmware.services.telnetd", "/etc/init.d/S50telnet", 3)]


def test_inetd_and_enabled_xinetd_services():
    texts = {"etc/inetd.conf": "# services\ntelnet stream tcp nowait root /usr/sbin/telnetd telnetd\n"
                               "tftp dgram udp wait root /usr/sbin/tftpd tftpd -s /srv\n",
             "etc/xinetd.d/ftp": "service ftp\n{\n\tserver = /usr/sbin/in.ftpd\n\tdisable = yes\n}\n",
             "etc/xinetd.d/rsh": "service shell\n{\n\tdisable = no\n\tserver = /usr/sbin/in.rshd\n}\n"}
    assert _fails(service_findings(Corpus(texts=texts))) == [
        ("firmware.services.cleartext_service", "/etc/inetd.conf", 3),
        ("firmware.services.cleartext_service", "/etc/xinetd.d/rsh", 4),
        ("firmware.services.telnetd", "/etc/inetd.conf", 2),
    ]


def test_systemd_unit_counts_only_when_wanted():
    unit = "[Service]\nExecStart=/usr/sbin/telnetd -F\n"
    texts = {"lib/systemd/system/telnetd.service": unit}
    wanted = {"etc/systemd/system/multi-user.target.wants/telnetd.service": "/lib/systemd/system/telnetd.service"}
    assert _fails(service_findings(Corpus(texts=texts))) == []
    assert _fails(service_findings(Corpus(texts=texts, links=wanted))) == [
        ("firmware.services.telnetd", "/lib/systemd/system/telnetd.service", 2)]


def test_getty_with_shell_as_login_program_and_autologin():
    texts = {"etc/inittab": "ttyS1::respawn:/sbin/getty -n -l /bin/sh -L ttyS1 115200\n"
                            "tty1::respawn:/bin/login -f root\n"
                            "ttyS0::respawn:/sbin/getty -L ttyS0 115200 vt100\n"}
    assert _fails(service_findings(Corpus(texts=texts))) == [
        ("firmware.services.debug_shell", "/etc/inittab", 1), ("firmware.services.debug_shell", "/etc/inittab", 2)]


def test_dropbear_options_and_sshd_config():
    rcs = "#!/bin/sh\ndropbear -sg -p 22\ndropbear -w -p 2222\nsshd\n"
    sshd_off = {"etc/init.d/rcS": rcs, "etc/ssh/sshd_config": "PermitRootLogin no\nPasswordAuthentication no\n"}
    found = [(f.evidence.path, f.evidence.line, f.title) for f in service_findings(Corpus(texts=sshd_off))
             if f.outcome == "fail"]
    assert found == [("/etc/init.d/rcS", 3, "Dropbear accepts password logins")]
    sshd_default = {"etc/init.d/rcS": "#!/bin/sh\n/usr/sbin/sshd -D\n"}
    assert [(f.evidence.path, f.title) for f in service_findings(Corpus(texts=sshd_default)) if f.outcome == "fail"] == [
        ("/etc/init.d/rcS", "OpenSSH accepts password logins")]
