"""Builders of extracted root filesystems for the firmware analysis tests.

Binaries are real Debian packages (busybox-static, dropbear-bin, dnsmasq-base for mipsel/armhf) fetched
with `apt-get download` into a cache folder and unpacked with `dpkg-deb -x`; accounts, boot scripts,
keys and certificates are written here. The weak root seeds one instance of each weakness the
analysers look for; the clean root is its well-configured counterpart. Both carry hostile entries
(escaping and looping links, a FIFO, a huge sparse file) that the analysis must step around.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import subprocess
import warnings
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt as _crypt

PACKAGES = ["busybox-static:mipsel", "dropbear-bin:armhf", "busybox-static:armhf", "dnsmasq-base:armhf"]
SETUP_HINT = ("run as root: dpkg --add-architecture armhf && dpkg --add-architecture mipsel && apt-get update "
              "(needs network access to a Debian mirror)")
HUGE_FILE_BYTES = 8 * 1024**3  # sparse: takes no disk space
WEAK_PASSWORDS = {"root": "xc3511", "admin": "admin", "support": "support"}
BUSYBOX_APPLETS = ["bin/sh", "bin/ash", "bin/login", "bin/mount", "sbin/init", "sbin/getty", "sbin/ifconfig",
                   "sbin/reboot", "usr/bin/wget", "usr/sbin/telnetd", "usr/sbin/httpd"]


class DebsUnavailable(RuntimeError):
    """The Debian packages could not be downloaded (no mirror, or the architectures are not enabled)."""


def deb_cache() -> Path:
    """Where downloaded packages are kept between runs ($IOTMARK_TEST_DEBS or ~/.cache/iotmark-test-debs)."""
    return Path(os.environ.get("IOTMARK_TEST_DEBS") or Path.home() / ".cache" / "iotmark-test-debs")


def _cached(cache: Path, package: str) -> Path | None:
    name, arch = package.split(":")
    found = sorted(cache.glob(f"{name}_*_{arch}.deb"))
    return found[-1] if found else None


def fetch_debs(packages: list[str] = PACKAGES) -> dict[str, Path]:
    """The .deb file of each package, downloaded with apt-get when not cached. Raises DebsUnavailable."""
    cache = deb_cache()
    cache.mkdir(parents=True, exist_ok=True)
    missing = [p for p in packages if _cached(cache, p) is None]
    if missing:
        if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
            raise DebsUnavailable("apt-get and dpkg-deb are needed to fetch the test packages")
        run = subprocess.run(["apt-get", "download", *missing], cwd=cache, capture_output=True, text=True, timeout=600)
        if run.returncode != 0:
            raise DebsUnavailable(f"apt-get download {' '.join(missing)} failed: "
                                  f"{run.stderr.strip().splitlines()[-1] if run.stderr.strip() else run.returncode}; "
                                  + SETUP_HINT)
    return {p: _cached(cache, p) for p in packages}  # type: ignore[misc]


def unpack_debs(debs: dict[str, Path], dest: Path) -> dict[str, Path]:
    """Each package unpacked into its own folder under `dest`."""
    out = {}
    for package, deb in debs.items():
        folder = dest / package.replace(":", "_")
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(folder)], check=True, timeout=120)
        out[package] = folder
    return out


# ---------------------------------------------------------------- writing helpers


def write(root: Path, rel: str, text: str, mode: int = 0o644) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def copy_binary(source: Path, root: Path, rel: str) -> None:
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(0o755)


def link(root: Path, rel: str, target: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, path)


def busybox_links(root: Path) -> None:
    for applet in BUSYBOX_APPLETS:
        depth = applet.count("/")
        link(root, applet, "../" * depth + "bin/busybox" if applet != "bin/sh" else "busybox")


def hostile_entries(root: Path) -> None:
    """Links that escape or loop, a FIFO and a huge sparse file: the view must neither leave nor hang."""
    link(root, "etc/escape_abs", "/../../../etc/passwd")
    link(root, "etc/escape_rel", "../../../../../../../../etc/shadow")
    link(root, "etc/host_hostname", "/etc/hostname")
    link(root, "etc/loop_a", "loop_b")
    link(root, "etc/loop_b", "loop_a")
    link(root, "mnt/hostroot", "/")
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    os.mkfifo(root / "tmp" / "console.fifo")
    (root / "var").mkdir(parents=True, exist_ok=True)
    with open(root / "var" / "huge.img", "wb") as handle:
        handle.truncate(HUGE_FILE_BYTES)


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def pem_private(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def _mpint(value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 8) // 8, "big")
    return len(raw).to_bytes(4, "big") + raw


def dropbear_rsa_key(key: rsa.RSAPrivateKey) -> bytes:
    """Dropbear's host key format: string "ssh-rsa", mpint e, n, d, p, q."""
    numbers = key.private_numbers()
    name = b"ssh-rsa"
    return (len(name).to_bytes(4, "big") + name + _mpint(numbers.public_numbers.e) + _mpint(numbers.public_numbers.n)
            + _mpint(numbers.d) + _mpint(numbers.p) + _mpint(numbers.q))


def certificate(common_name: str, *, not_before: dt.datetime, not_after: dt.datetime, bits: int, ca: bool) -> str:
    key = rsa_key(bits)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after))
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def hash_password(password: str, salt: str) -> str:
    return _crypt.crypt(password, salt)


# ---------------------------------------------------------------- the roots


def build_weak_root(root: Path, pkgs: dict[str, Path], shared_key_pem: str) -> None:
    """A router root with one instance of every weakness the analysers report."""
    copy_binary(pkgs["busybox-static:mipsel"] / "bin/busybox", root, "bin/busybox")
    copy_binary(pkgs["dropbear-bin:armhf"] / "usr/sbin/dropbear", root, "usr/sbin/dropbear")
    busybox_links(root)
    write(root, "etc/passwd",
          "root:x:0:0:root:/root:/bin/sh\n"
          "admin:x:1000:1000:admin:/home/admin:/bin/sh\n"
          "support:x:1001:1001:support:/home/support:/bin/sh\n"
          "guest:x:1002:1002:guest:/tmp:/bin/sh\n"
          "daemon:x:2:2:daemon:/:/bin/false\n"
          "nobody:x:65534:65534:nobody:/:/bin/false\n")
    write(root, "etc/shadow",
          f"root:{hash_password('xc3511', '$1$iotmark1$')}:18000:0:99999:7:::\n"
          f"admin:{hash_password('admin', 'ab')}:18000:0:99999:7:::\n"
          f"support:{hash_password('support', '$6$iotmarksupport$')}:18000:0:99999:7:::\n"
          "guest::18000:0:99999:7:::\n"
          "daemon:*:18000:0:99999:7:::\n"
          "nobody:!:18000:0:99999:7:::\n", 0o600)
    write(root, "etc/inittab",
          "::sysinit:/etc/init.d/rcS\n"
          "ttyS0::askfirst:-/bin/sh\n"
          "::ctrlaltdel:/sbin/reboot\n"
          "::shutdown:/bin/umount -a -r\n")
    write(root, "etc/init.d/rcS",
          "#!/bin/sh\n"
          "mount -t proc proc /proc\n"
          "/sbin/ifconfig lo 127.0.0.1 up\n"
          "# remote maintenance\n"
          "telnetd -l /bin/login\n"
          "/usr/sbin/dropbear -p 22 -r /etc/dropbear/dropbear_rsa_host_key\n"
          "/usr/sbin/httpd -h /www -c /etc/httpd.conf\n"
          "/usr/sbin/fw_update.sh &\n", 0o755)
    write(root, "etc/webui/server.conf",
          "[server]\nport = 80\n\n[admin]\nusername = admin\npassword = \"admin1234\"\n")
    write(root, "etc/nvram.default", "lan_ipaddr=192.168.1.1\nhttp_username=admin\nhttp_passwd=Sup3r2019\n")
    write(root, "etc/ssl/private/server.key", shared_key_pem, 0o600)
    (root / "etc/dropbear").mkdir(parents=True, exist_ok=True)
    (root / "etc/dropbear/dropbear_rsa_host_key").write_bytes(dropbear_rsa_key(rsa_key(1024)))
    write(root, "etc/ssl/certs/device.crt", certificate(
        "router.local", not_before=dt.datetime(2015, 1, 1), not_after=dt.datetime(2020, 1, 1), bits=1024, ca=False))
    write(root, "usr/sbin/fw_update.sh",
          "#!/bin/sh\n"
          "URL=\"http://update.example-vendor.com/fw/latest.bin\"\n"
          "wget -O /tmp/fw.bin \"$URL\" && mtd write /tmp/fw.bin firmware\n"
          "reboot\n", 0o755)
    write(root, "usr/lib/opkg/status",
          "Package: dnsmasq\nVersion: 2.80-1\nStatus: install user installed\nArchitecture: mipsel_24kc\n\n"
          "Package: libc\nVersion: 1.1.24-3\nStatus: install user installed\nArchitecture: mipsel_24kc\n")
    write(root, "etc/openwrt_release",
          "DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='19.07.2'\nDISTRIB_REVISION='r10947-65030d81f3'\n"
          "DISTRIB_TARGET='ramips/mt7621'\nDISTRIB_ARCH='mipsel_24kc'\nDISTRIB_DESCRIPTION='OpenWrt 19.07.2'\n")
    write(root, "etc/device_info", "DEVICE_MANUFACTURER='ExampleVendor'\nDEVICE_PRODUCT='WR-100'\n")
    write(root, "etc/version", "2020-03-15 11:02\n")
    write(root, "lib/modules/4.14.171/modules.dep", "")
    hostile_entries(root)


def build_twin_root(root: Path, shared_key_pem: str) -> None:
    """A second device image that ships the weak root's private key under another name."""
    write(root, "etc/uhttpd.key", shared_key_pem, 0o600)
    write(root, "etc/passwd", "root:x:0:0:root:/root:/bin/false\n")


def build_clean_root(root: Path, pkgs: dict[str, Path]) -> None:
    """The weak root's well-configured counterpart: nothing here should fail."""
    copy_binary(pkgs["busybox-static:armhf"] / "bin/busybox", root, "bin/busybox")
    copy_binary(pkgs["dnsmasq-base:armhf"] / "usr/sbin/dnsmasq", root, "usr/sbin/dnsmasq")
    busybox_links(root)
    write(root, "etc/passwd",
          "root:x:0:0:root:/root:/bin/sh\n"
          "admin:x:1000:1000:admin:/home/admin:/bin/sh\n"
          "daemon:x:2:2:daemon:/:/bin/false\n"
          "nobody:x:65534:65534:nobody:/:/bin/false\n")
    strong = [secrets.token_urlsafe(18), secrets.token_urlsafe(18)]
    write(root, "etc/shadow",
          f"root:{hash_password(strong[0], _crypt.mksalt(_crypt.METHOD_SHA512))}:19000:0:99999:7:::\n"
          f"admin:{hash_password(strong[1], '$y$j9T$' + secrets.token_hex(8) + '$')}:19000:0:99999:7:::\n"
          "daemon:*:19000:0:99999:7:::\n"
          "nobody:!:19000:0:99999:7:::\n", 0o600)
    write(root, "etc/inittab",
          "::sysinit:/etc/init.d/rcS\n"
          "ttyS0::respawn:/sbin/getty -L ttyS0 115200 vt100\n"
          "::shutdown:/bin/umount -a -r\n")
    write(root, "etc/init.d/rcS",
          "#!/bin/sh\n"
          "mount -t proc proc /proc\n"
          "killall telnetd 2>/dev/null\n"
          "[ -x /usr/sbin/telnetd ] && echo \"telnetd present but not started\"\n"
          "/usr/sbin/dropbear -s -g -p 22\n"
          "/usr/sbin/dnsmasq -C /etc/dnsmasq.conf\n"
          "/usr/sbin/httpd -h /www\n", 0o755)
    write(root, "www/index.html",
          "<form method=\"post\"><input type=\"text\" name=\"username\">"
          "<input type=\"password\" name=\"password\"></form>\n")
    write(root, "www/login.js",
          "function login() {\n  var password = document.getElementById('pw').value;\n"
          "  return fetch('/api/login', {method: 'POST', body: JSON.stringify({password: password})});\n}\n")
    write(root, "etc/webui/server.conf", "[server]\nport = 443\n# password is set on first login\npassword_file = /etc/webui/htpasswd\n")
    write(root, "usr/sbin/fw_update.sh",
          "#!/bin/sh\n"
          "set -e\n"
          "BASE=\"https://update.example-vendor.com/fw\"\n"
          "wget -O /tmp/fw.bin \"$BASE/latest.bin\"\n"
          "wget -O /tmp/fw.bin.sig \"$BASE/latest.bin.sig\"\n"
          "usign -V -m /tmp/fw.bin -P /etc/opkg/keys\n"
          "sysupgrade /tmp/fw.bin\n", 0o755)
    write(root, "etc/opkg/keys/b5043e70f9a75cde",
          "untrusted comment: ExampleVendor release key\nRWS1BD5w+adc3rDsYV1x+FcPzAj8Hmsi0j+KlRzqDS0xYDMGHZ7jd8Fb\n")
    write(root, "etc/ssl/certs/update-signing.pub",
          rsa_key(2048).public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo).decode())
    write(root, "etc/ssl/certs/root-ca.pem", certificate(
        "Example Root CA", not_before=dt.datetime(2000, 1, 1), not_after=dt.datetime(2010, 1, 1), bits=2048, ca=True))
    write(root, "usr/lib/opkg/status",
          "Package: dnsmasq\nVersion: 2.90-1\nStatus: install user installed\nArchitecture: arm_cortex-a7\n")
    write(root, "etc/os-release", "NAME=\"ExampleOS\"\nVERSION_ID=\"2.4.1\"\nPRETTY_NAME=\"ExampleOS 2.4.1\"\nID=exampleos\n")
    write(root, "lib/modules/5.15.150/modules.dep", "")
    hostile_entries(root)
