"""The insecure-device lab: a network namespace with a veth pair and real daemons from Debian packages.

`start_lab(hardened=False)` seeds the weaknesses the probe must find (telnet with a Mirai-list password,
anonymous FTP and MQTT, basic auth admin:admin over plain HTTP, a web console login form on 8080 with a
Mirai-list pair, TLS 1.0 with a 1024-bit self-signed
certificate, CoAP and UPnP exposed). `start_lab(hardened=True)` is the twin with nothing weak: SSH keys
only with modern algorithms, HTTPS with TLS 1.3 only, MQTT over TLS with a strong password.

Daemons run inside a private mount namespace where /etc/passwd, /etc/shadow, /etc/group and /etc/shells
are bind-mounted copies, so the host's accounts are never touched. `stop_lab` kills every process in the
namespace and deletes what the start made; it is safe to call twice and after a failed start.
`iotmark lab up|down` (labctl.py) runs the same lab for users, with its state recorded on disk.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

LAB_USER = "admin"
LAB_PASSWORD = "admin"  # 4th pair of the Mirai table, so a budget of 10 finds it
MQTT_USER = "root"
MQTT_PASSWORD = "vizxv"  # 2nd pair of the Mirai table
FORM_USER = "root"
FORM_PASSWORD = "xmhdipc"  # 6th pair of the Mirai table (Xiongmai cameras): the web console's login form
FORM_PORT = 8080
WEAK_PORTS = {21, 22, 23, 80, 443, 1883, 1884, 2323, 5000, FORM_PORT}
HARDENED_PORTS = {22, 80, 443, 8883}
DEBIAN_TOOLS = {
    "busybox": "busybox-static", "inetutils-inetd": "inetutils-inetd", "dropbear": "dropbear-bin", "vsftpd": "vsftpd", "lighttpd": "lighttpd",
    "mosquitto": "mosquitto", "coap-server-notls": "libcoap3-bin", "miniupnpd": "miniupnpd",
    "/usr/sbin/telnetd": "inetutils-telnetd", "/usr/sbin/sshd": "openssh-server"
}


@dataclass
class LabDevice:
    """One running lab device: its namespace, addresses and where its files live."""

    namespace: str
    host_address: str
    address: str
    hardened: bool
    workdir: Path
    ports: set[int]
    passwords: dict[str, str] = field(default_factory=dict)
    host_veth: str = ""
    pids: list[int] = field(default_factory=list)  # the daemons' supervisor and every process in the namespace
    made: list[str] = field(default_factory=list)  # what start_lab created: "netns", "veth", "/run/sshd"


def lab_unavailable() -> str | None:
    """Why the lab cannot run here (not root, no `ip netns`, missing daemons), or None."""
    if os.geteuid() != 0:
        return "the probe lab needs root to create network namespaces: run it as root (e.g. with sudo)"
    if shutil.which("ip") is None:
        return "iproute2 (ip) is not installed: install it with `apt-get install iproute2`"
    missing = sorted({pkg for tool, pkg in DEBIAN_TOOLS.items() if not (Path(tool).exists() or shutil.which(tool))})
    if missing:
        return f"Debian packages missing for the lab: install them with `apt-get install {' '.join(missing)}`"
    probe = f"iotmark-check-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result


def _subnet(hardened: bool) -> tuple[str, str]:
    # One /30 per lab, starting from one derived from the pid and skipping any the host already uses, so
    # parallel runs and a user's `iotmark lab up` on one machine do not collide.
    second = 201 if hardened else 200
    used = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True).stdout
    start = os.getpid() % 250
    for step in range(250):
        octet = (start + step) % 250 + 1
        if f" 10.{second}.{octet}." not in used:
            break
    return f"10.{second}.{octet}.1", f"10.{second}.{octet}.2"


def new_lab(workdir: Path, *, hardened: bool = False, namespace: str | None = None,
            host_veth: str | None = None) -> LabDevice:
    """The plan for one lab device (names, addresses, folder); nothing is created yet."""
    kind = "hard" if hardened else "weak"
    pid = os.getpid()
    host_address, address = _subnet(hardened)
    if host_veth is not None and len(host_veth) > 14:  # the device end adds "d"; Linux allows 15 characters
        raise ValueError(f"interface name {host_veth!r} is longer than 14 characters")
    return LabDevice(namespace=namespace or f"iotmark-{kind}-{pid}", host_address=host_address, address=address,
                     hardened=hardened, workdir=workdir, ports=set(HARDENED_PORTS if hardened else WEAK_PORTS),
                     host_veth=host_veth or f"iotm{kind[0]}{pid % 100000}")


def run_lab(device: LabDevice, timeout: float = 30.0) -> LabDevice:
    """Create the namespace and veth pair, write the daemons' files, start them and wait for their ports.

    On any failure (or interruption) everything made so far is removed before the exception goes on."""
    try:
        device.workdir.mkdir(parents=True, exist_ok=True)
        _make_network(device)
        script = _write_files(device)
        with open(device.workdir / "daemons.log", "wb") as log_file:  # the supervisor keeps its own copy open
            supervisor = subprocess.Popen(
                ["ip", "netns", "exec", device.namespace, "unshare", "--mount", "--propagation", "private",
                 "/bin/sh", str(script)], stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        device.pids = [supervisor.pid]
        _wait_for_ports(device, timeout)
        if not device.hardened:
            _publish_retained(device)
        device.pids = sorted({supervisor.pid, *namespace_pids(device.namespace)})
    except BaseException:
        stop_lab(device)
        raise
    return device


def start_lab(workdir: Path, *, hardened: bool = False, timeout: float = 30.0) -> LabDevice:
    """Plan and start one lab device in `workdir` (the test fixtures' entry point)."""
    return run_lab(new_lab(workdir, hardened=hardened), timeout)


def namespace_pids(namespace: str) -> list[int]:
    """Every process running in network namespace `namespace` (none if it does not exist)."""
    out = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split() if pid.isdigit()]


def stop_lab(device: LabDevice) -> None:
    """Kill every process in the namespace, delete it and the veth pair if this lab made them. Never raises."""
    for sig in ("TERM", "KILL") if "netns" in device.made else ():
        pids = namespace_pids(device.namespace)
        for pid in pids:
            subprocess.run(["kill", f"-{sig}", str(pid)], capture_output=True)
        if pids and sig == "TERM":
            time.sleep(0.5)
    if "netns" in device.made:
        subprocess.run(["ip", "netns", "del", device.namespace], capture_output=True)
    if "veth" in device.made:
        subprocess.run(["ip", "link", "del", device.host_veth], capture_output=True)
    if "/run/sshd" in device.made:
        with contextlib.suppress(OSError):
            Path("/run/sshd").rmdir()


def _make_network(device: LabDevice) -> None:
    ns, host_if, dev_if = device.namespace, device.host_veth, device.host_veth + "d"
    _run("ip", "netns", "add", ns)
    device.made.append("netns")
    _run("ip", "link", "add", host_if, "type", "veth", "peer", "name", dev_if)
    device.made.append("veth")
    _run("ip", "link", "set", dev_if, "netns", ns)
    _run("ip", "addr", "add", f"{device.host_address}/30", "dev", host_if)
    _run("ip", "link", "set", host_if, "up")
    inside = ["ip", "netns", "exec", ns]
    _run(*inside, "ip", "addr", "add", f"{device.address}/30", "dev", dev_if)
    _run(*inside, "ip", "link", "set", dev_if, "up")
    _run(*inside, "ip", "link", "set", "lo", "up")
    # miniupnpd wants a WAN interface; a veth pair with both ends inside never leaves the namespace.
    _run(*inside, "ip", "link", "add", "wan0", "type", "veth", "peer", "name", "wan1")
    _run(*inside, "ip", "addr", "add", "192.0.2.2/24", "dev", "wan0")
    _run(*inside, "ip", "link", "set", "wan0", "up")


def _wait_for_ports(device: LabDevice, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = set(device.ports)
    while pending and time.monotonic() < deadline:
        for port in sorted(pending):
            try:
                with socket.create_connection((device.address, port), timeout=0.5):
                    pending.discard(port)
            except OSError:
                pass
        if pending:
            time.sleep(0.2)
    if pending:
        logtext = (device.workdir / "daemons.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"lab ports never opened: {sorted(pending)}; daemon log:\n{logtext}")


def _publish_retained(device: LabDevice) -> None:
    """A retained message on the anonymous broker, so a wildcard subscription has something to read."""
    from iotmark.collect.probe.mqtt import connect_packet, publish_packet

    with socket.create_connection((device.address, 1883), timeout=5) as sock:
        sock.sendall(connect_packet("lab-seed"))
        if sock.recv(4)[:1] != b"\x20":  # CONNACK
            raise RuntimeError("the lab's MQTT broker did not accept the seeding client")
        sock.sendall(publish_packet("home/frontdoor/lock", b"unlocked", retain=True, packet_id=1))
        if sock.recv(4)[:1] != b"\x40":  # PUBACK: the broker stored the retained message
            raise RuntimeError("the lab's MQTT broker did not acknowledge the retained message")
        sock.sendall(b"\xe0\x00")  # DISCONNECT


# ------------------------------------------------------------------------------------------------ files

def _write_files(device: LabDevice) -> Path:
    w = device.workdir
    for sub in ("etc", "www/files", "www/admin", "ftp/pub", "home", "run", "bin", "empty"):
        (w / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(w / "home", 0o777)
    password = secrets.token_urlsafe(18) if device.hardened else LAB_PASSWORD
    mqtt_password = secrets.token_urlsafe(18) if device.hardened else MQTT_PASSWORD
    device.passwords = {"login": password, "mqtt": mqtt_password}
    _write_accounts(w, password)
    _write_web(device, password)
    lines = ["set -u", "for f in passwd shadow group shells; do mount --bind " + str(w / "etc") + "/$f /etc/$f; done"]
    if device.hardened:
        lines += _hardened_daemons(device)
    else:
        lines += _weak_daemons(device)
    lines.append("wait")
    script = w / "start.sh"
    script.write_text("\n".join(lines) + "\n")
    return script


def _write_accounts(w: Path, password: str) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

    passwd = Path("/etc/passwd").read_text()
    names = [line.split(":")[0] for line in passwd.splitlines() if line]
    passwd += f"{LAB_USER}:x:2001:2001:lab user:{w / 'home'}:/bin/sh\n"
    # Host accounts get random passwords in the copy (BusyBox login rejects "*" with "bad salt" and hangs
    # up, which a real device does not do); only the lab user has a known one.
    locked = crypt.crypt(secrets.token_urlsafe(24), crypt.mksalt(crypt.METHOD_SHA512))
    shadow = "".join(f"{name}:{locked}:19000:0:99999:7:::\n" for name in names if name != LAB_USER)
    shadow += f"{LAB_USER}:{crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))}:19000:0:99999:7:::\n"
    group = Path("/etc/group").read_text() + f"{LAB_USER}:x:2001:\n"
    (w / "etc/passwd").write_text(passwd)
    (w / "etc/shadow").write_text(shadow)
    os.chmod(w / "etc/shadow", 0o640)
    (w / "etc/group").write_text(group)
    (w / "etc/shells").write_text("/bin/sh\n/bin/bash\n")


def _write_web(device: LabDevice, password: str) -> None:
    w = device.workdir
    (w / "www/index.html").write_text("<html><body><h1>SmartCam 3000</h1></body></html>\n")
    (w / "www/admin/index.html").write_text("<html><body>admin console</body></html>\n")
    if not device.hardened:
        (w / "www/files/snapshot-001.jpg").write_bytes(b"\xff\xd8\xff\xe0lab")
        (w / "www/config.bak").write_text("[wifi]\nssid=home\npsk=correct-horse\n[admin]\npassword=admin\n")
    (w / "htpasswd").write_text(f"{LAB_USER}:{password}\n")


def _make_certificates(device: LabDevice) -> tuple[Path, Path]:
    """Weak: self-signed RSA-1024. Hardened: P-256 leaf issued by a lab CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device.address)])
    san = x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address(device.address))])
    if device.hardened:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "iotmark lab CA")])
        key = ec.generate_private_key(ec.SECP256R1())
        issuer, signer = ca_name, ca_key
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        issuer, signer = subject, key
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365)).add_extension(san, critical=False)
            .sign(signer, hashes.SHA256()))
    pem = device.workdir / "server.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()) + cert.public_bytes(serialization.Encoding.PEM))
    os.chmod(pem, 0o644)
    return pem, pem


def _lighttpd_conf(device: LabDevice, pem: Path) -> Path:
    w, a = device.workdir, device.address
    auth = 'auth.require = ("/admin/" => ("method" => "basic", "realm" => "SmartCam", "require" => "valid-user"))'
    # The weak device asks for the same default password over HTTPS with digest auth, so both schemes are tried.
    digest = auth.replace('"basic"', '"digest"')
    # The hardened twin names no version, and asks for the password only over TLS.
    tag = "SmartCam" if device.hardened else "lighttpd/1.4.69"
    if device.hardened:
        tls = '"MinProtocol" => "TLSv1.3"'
        plain = f'$SERVER["socket"] == "{a}:80" {{ url.redirect = ("^/(.*)" => "https://{a}/$1") }}'
        listing = ""
    else:
        # SECLEVEL=0 lets OpenSSL 3 offer TLS 1.0 and the 1024-bit key at all.
        tls = '"MinProtocol" => "TLSv1", "CipherString" => "DEFAULT:@SECLEVEL=0"'
        plain = ""
        listing = '$HTTP["url"] =~ "^/files/" { dir-listing.activate = "enable" }'
    conf = f"""
server.modules = ("mod_auth", "mod_authn_file", "mod_openssl", "mod_redirect", "mod_dirlisting")
server.document-root = "{w / 'www'}"
server.bind = "{a}"
server.port = 80
server.pid-file = "{w / 'run/lighttpd.pid'}"
server.errorlog = "{w / 'lighttpd-error.log'}"
server.tag = "{tag}"
index-file.names = ("index.html")
mimetype.assign = (".html" => "text/html", ".jpg" => "image/jpeg", "" => "application/octet-stream")
auth.backend = "plain"
auth.backend.plain.userfile = "{w / 'htpasswd'}"
{"" if device.hardened else auth}
{listing}
{plain}
$SERVER["socket"] == "{a}:443" {{
  ssl.engine = "enable"
  ssl.pemfile = "{pem}"
  ssl.openssl.ssl-conf-cmd = ({tls})
  {auth if device.hardened else digest}
}}
"""
    path = w / "lighttpd.conf"
    path.write_text(conf)
    return path


def _write_mosquitto(device: LabDevice, listeners: str) -> None:
    w = device.workdir
    _run("mosquitto_passwd", "-c", "-b", str(w / "mosquitto.passwd"), MQTT_USER, device.passwords["mqtt"])
    os.chmod(w / "mosquitto.passwd", 0o644)
    (w / "mosquitto.conf").write_text("per_listener_settings true\nuser root\npersistence false\n"
                                      "log_dest stderr\n" + listeners)


def _weak_daemons(device: LabDevice) -> list[str]:
    w, a = device.workdir, device.address
    login = w / "bin/login"
    if not login.exists():
        login.symlink_to(shutil.which("busybox") or "/bin/busybox")
    pem, _ = _make_certificates(device)
    # Debian's busybox-static has telnetd but no tcpsvd, so inetutils' inetd serves inetutils' telnetd.
    (w / "inetd.conf").write_text(f"{a}:2323 stream tcp nowait root /usr/sbin/telnetd telnetd -E {login}\n")
    _run("dropbearkey", "-t", "rsa", "-s", "1024", "-f", str(w / "dropbear_rsa"))
    (w / "vsftpd.conf").write_text(f"""listen=YES
listen_address={a}
background=NO
anonymous_enable=YES
anon_root={w / 'ftp'}
local_enable=YES
write_enable=YES
anon_upload_enable=YES
anon_mkdir_write_enable=YES
anon_other_write_enable=YES
seccomp_sandbox=NO
secure_chroot_dir={w / 'empty'}
pam_service_name=vsftpd
ftpd_banner=SmartCam FTP ready
xferlog_enable=NO
""")
    # Anonymous uploads need a writable folder below a root that is not itself writable.
    os.chmod(w / "ftp/pub", 0o777)
    _write_mosquitto(device, f"""listener 1883 {a}
allow_anonymous true
listener 1884 {a}
allow_anonymous false
password_file {w / 'mosquitto.passwd'}
""")
    (w / "miniupnpd.conf").write_text(f"""ext_ifname=wan0
listening_ip={device.host_veth}d
port=5000
enable_upnp=yes
enable_natpmp=no
secure_mode=no
system_uptime=yes
uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b
friendly_name=SmartCam Router
allow 1024-65535 0.0.0.0/0 1024-65535
""")
    return [
        f"busybox telnetd -F -p 23 -b {a} -l {login} &",
        f"inetutils-inetd -d -p {w / 'run/inetd.pid'} {w / 'inetd.conf'} &",
        f"dropbear -F -E -p {a}:22 -r {w / 'dropbear_rsa'} -P {w / 'run/dropbear.pid'} &",
        f"vsftpd {w / 'vsftpd.conf'} &",
        f"lighttpd -D -f {_lighttpd_conf(device, pem)} &",
        f"mosquitto -c {w / 'mosquitto.conf'} &",
        f"coap-server-notls -A {a} -p 5683 &",
        f"miniupnpd -d -f {w / 'miniupnpd.conf'} -P {w / 'run/miniupnpd.pid'} &",
        f"{sys.executable} -m iotmark.collect.probe.lab_webadmin {a} {FORM_PORT} {FORM_USER} {FORM_PASSWORD} &",
    ]


def _hardened_daemons(device: LabDevice) -> list[str]:
    w, a = device.workdir, device.address
    pem, _ = _make_certificates(device)
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(w / "ssh_host_ed25519_key"))
    (w / "sshd_config").write_text(f"""ListenAddress {a}:22
HostKey {w / 'ssh_host_ed25519_key'}
PidFile {w / 'run/sshd.pid'}
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM no
KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org
Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com
MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com
HostKeyAlgorithms ssh-ed25519
""")
    _write_mosquitto(device, f"""listener 8883 {a}
allow_anonymous false
password_file {w / 'mosquitto.passwd'}
certfile {pem}
keyfile {pem}
tls_version tlsv1.3
""")
    if not Path("/run/sshd").exists():  # sshd insists on its privilege-separation folder
        Path("/run/sshd").mkdir()
        device.made.append("/run/sshd")
    return [
        f"/usr/sbin/sshd -D -e -f {w / 'sshd_config'} &",
        f"lighttpd -D -f {_lighttpd_conf(device, pem)} &",
        f"mosquitto -c {w / 'mosquitto.conf'} &",
    ]
