#!/usr/bin/env bash
# Set up iotmark on a fresh Debian machine with Python 3.11, run as root from the repository root.
#   bash scripts/setup.sh          -> runtime: Debian libraries, .venv, the package
#   bash scripts/setup.sh test     -> also the test tools (pytest, hypothesis, pdftoppm, zbar, image builders)
# Installs only what is missing, so running it again is quick.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"

# PDF/label rendering, then the extractors the firmware collector drives (unblob calls them).
debs=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libcairo2 fonts-dejavu-core shared-mime-info
      libmagic1 squashfs-tools p7zip-full lz4 lzop zstd e2fsprogs cpio unar erofs-utils util-linux nftables openssl)
update=0
if [ "$mode" = "test" ]; then
  # Test image builders (jffs2/ubi/uImage) and the foreign-architecture Debian packages the fixtures unpack.
  debs+=(poppler-utils zbar-tools mtd-utils u-boot-tools util-linux-extra postgresql)
  # The insecure-device lab of the probe tests: real daemons started inside network namespaces.
  debs+=(iproute2 busybox-static inetutils-inetd inetutils-telnetd dropbear-bin vsftpd lighttpd lighttpd-mod-openssl
         mosquitto libcoap3-bin miniupnpd openssh-server openssh-client)
  # The registry's browser tests drive Debian's chromium through Playwright (browsers cannot be downloaded here).
  debs+=(chromium)
  for arch in armhf mipsel; do
    if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
      dpkg --add-architecture "$arch"
      update=1
    fi
  done
fi
missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
python3 -c "import ensurepip" 2>/dev/null || missing+=(python3-venv)
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ] || [ "$update" = 1 ]; then
  # A mirror caught mid-sync fails one index now and then: retry, then go on with the lists we have.
  for attempt in 1 2 3; do
    apt-get update -qq && break
    echo "apt-get update failed (attempt $attempt)" >&2
    sleep $((attempt * 5))
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  # Daemons installed for the test lab must not start as host services: the tests start their own copies.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | { grep -v "^WARNING: Location" || true; }
if [ "$mode" = "test" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]" 2>&1 | { grep -v "^WARNING: Location" || true; }
else
  .venv/bin/python -m pip install -q --disable-pip-version-check -e . 2>&1 | { grep -v "^WARNING: Location" || true; }
fi
.venv/bin/iotmark --version
