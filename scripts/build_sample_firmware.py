#!/usr/bin/env python3
"""Build the bundled sample firmware image (examples/sample-device/firmware.bin) from Debian packages.

The image is what a small MIPS smart plug ships: a uImage header around an xz squashfs holding BusyBox and
Dropbear from Debian's mipsel packages, init scripts, a signed-update script, a CA certificate and one
known weakness (a factory telnet daemon started at boot). Run as root on Debian with the mipsel
architecture added (`dpkg --add-architecture mipsel && apt-get update`), squashfs-tools and u-boot-tools.

    python3 scripts/build_sample_firmware.py [OUT] [--pad-mib N]

The password hash and keys are made fresh on each build, so images differ between builds; the committed
image is one such build. --pad-mib adds incompressible files (used by benchmarks to reach a size).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

with warnings.catch_warnings():  # crypt is deprecated in 3.11 but is the stdlib crypt(3) binding we want
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

PACKAGES = ("busybox-static:mipsel", "dropbear-bin:mipsel")
RELEASE = {"VENDOR": "Northwind Devices", "MODEL": "SmartPlug P1", "VERSION": "1.4.2", "HARDWARE": "rev B"}
BUSYBOX_APPLETS = ("sh", "ls", "cat", "mount", "login", "telnetd", "udhcpc", "wget", "ifconfig", "reboot")
# Fixed times keep the squashfs layout stable between builds of the same tree.
EPOCH = 1735689600  # 2025-01-01T00:00:00Z

FILES: dict[str, str] = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    "etc/group": "root:x:0:\nnogroup:x:65534:\n",
    "etc/inittab": (
        "::sysinit:/etc/init.d/rcS\n"
        "ttyS0::respawn:/sbin/getty -L ttyS0 115200 vt100\n"
        "::shutdown:/bin/umount -a -r\n"
    ),
    "etc/init.d/rcS": (
        "#!/bin/sh\n"
        "mount -t proc proc /proc\n"
        "for script in /etc/init.d/S??*; do\n"
        "    [ -x \"$script\" ] && \"$script\" start\n"
        "done\n"
    ),
    "etc/init.d/S40dropbear": (
        "#!/bin/sh\n"
        "# SSH for the companion app's local pairing; keys only, no passwords, no root password login.\n"
        "[ \"$1\" = start ] && /usr/sbin/dropbear -s -g -p 22 -r /etc/dropbear/dropbear_ed25519_host_key\n"
    ),
    "etc/init.d/S50factory": (
        "#!/bin/sh\n"
        "# Factory test access, left enabled in production builds.\n"
        "[ \"$1\" = start ] && /usr/sbin/telnetd -p 2323 -l /bin/login\n"
    ),
    "etc/init.d/S60plugd": "#!/bin/sh\n[ \"$1\" = start ] && /usr/bin/plugd --config /etc/plugd.conf &\n",
    "etc/plugd.conf": "cloud_url=https://cloud.northwind.example/api/v2\nmetering_interval=60\n",
    "usr/sbin/fw-update": (
        "#!/bin/sh\n"
        "# Fetch, verify, then flash. Refuses any image whose Ed25519 signature does not verify.\n"
        "set -e\n"
        "url=\"https://updates.northwind.example/p1/latest.bin\"\n"
        "wget -q -O /tmp/fw.bin \"$url\"\n"
        "wget -q -O /tmp/fw.bin.sig \"$url.sig\"\n"
        "usign -V -P /etc/fw-keys -m /tmp/fw.bin -x /tmp/fw.bin.sig || { echo 'bad signature'; exit 1; }\n"
        "mtd write /tmp/fw.bin firmware\n"
    ),
}


def run(*cmd: str, cwd: Path | None = None) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def fetch_packages(cache: Path) -> list[Path]:
    """Download the Debian packages once into `cache` (apt-get download needs root for apt's own sandbox)."""
    cache.mkdir(parents=True, exist_ok=True)
    wanted = []
    for spec in PACKAGES:
        name, arch = spec.split(":")
        found = sorted(cache.glob(f"{name}_*_{arch}.deb"))
        if not found:
            run("apt-get", "download", "-q", spec, cwd=cache)
            found = sorted(cache.glob(f"{name}_*_{arch}.deb"))
        wanted.append(found[-1])
    return wanted


def _ca_certificate() -> bytes:
    """A vendor CA certificate (self-signed, as a root CA is), valid for ten years from the build epoch."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, RELEASE["VENDOR"]),
                      x509.NameAttribute(NameOID.COMMON_NAME, "Northwind Devices Root CA")])
    start = dt.datetime.fromtimestamp(EPOCH, dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def build_rootfs(root: Path, debs: list[Path], pad_mib: int = 0) -> None:
    """Lay out the sample root filesystem under `root`."""
    for deb in debs:
        run("dpkg-deb", "-x", str(deb), str(root))
    for applet in BUSYBOX_APPLETS:
        link = root / "bin" / applet
        if not link.exists():
            link.symlink_to("busybox")
    (root / "usr/sbin").mkdir(parents=True, exist_ok=True)
    for applet in ("telnetd",):
        (root / "usr/sbin" / applet).symlink_to("/bin/busybox")
    (root / "sbin").mkdir(exist_ok=True)
    (root / "sbin/getty").symlink_to("/bin/busybox")
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if rel.startswith(("etc/init.d/", "usr/sbin/")):
            path.chmod(0o755)
    # A strong random root password nobody knows: the hash is real, the secret is discarded.
    hashed = crypt.crypt(secrets.token_urlsafe(24), crypt.mksalt(crypt.METHOD_SHA512))
    (root / "etc/shadow").write_text(f"root:{hashed}:20089:0:99999:7:::\nnobody:*:20089:0:99999:7:::\n")
    (root / "etc/shadow").chmod(0o600)
    release = "".join(f'{k}="{v}"\n' for k, v in RELEASE.items())
    (root / "etc/northwind_release").write_text(release)
    (root / "etc/fw-keys").mkdir(parents=True)
    (root / "etc/fw-keys/northwind-release").write_text(
        "untrusted comment: Northwind release key\n" + secrets.token_hex(21) + "\n")
    (root / "etc/ssl/certs").mkdir(parents=True)
    (root / "etc/ssl/certs/northwind-ca.pem").write_bytes(_ca_certificate())
    for sub in ("proc", "tmp", "root", "etc/dropbear", "usr/bin"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i in range(pad_mib):
        (root / f"usr/share/blob{i:03d}.bin").parent.mkdir(parents=True, exist_ok=True)
        (root / f"usr/share/blob{i:03d}.bin").write_bytes(os.urandom(1024 * 1024))


def build_image(out: Path, cache: Path, pad_mib: int = 0) -> Path:
    """Build rootfs → xz squashfs → uImage at `out`."""
    with tempfile.TemporaryDirectory(prefix="iotmark-sample-") as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        build_rootfs(root, fetch_packages(cache), pad_mib)
        sqfs = Path(tmp) / "rootfs.sqfs"
        run("mksquashfs", str(root), str(sqfs), "-comp", "xz", "-all-root", "-noappend", "-quiet",
            "-mkfs-time", str(EPOCH), "-all-time", str(EPOCH))
        out.parent.mkdir(parents=True, exist_ok=True)
        run("mkimage", "-A", "mips", "-O", "linux", "-T", "filesystem", "-C", "none", "-n",
            f"{RELEASE['MODEL']} {RELEASE['VERSION']}", "-d", str(sqfs), str(out))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=Path("examples/sample-device/firmware.bin"))
    parser.add_argument("--pad-mib", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "iotmark-debs")
    args = parser.parse_args(argv)
    if shutil.which("mksquashfs") is None or shutil.which("mkimage") is None:
        print("error: needs mksquashfs (squashfs-tools) and mkimage (u-boot-tools)", file=sys.stderr)
        return 2
    image = build_image(args.out, args.cache, args.pad_mib)
    print(f"wrote {image} ({image.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
