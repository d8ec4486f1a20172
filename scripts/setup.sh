#!/usr/bin/env bash
# Set up iotmark on a fresh Debian machine with Python 3.11, run as root from the repository root.
#   bash scripts/setup.sh          -> runtime: Debian libraries, .venv, the package
#   bash scripts/setup.sh test     -> also the test tools (pytest, hypothesis, trestle, pdftoppm, zbar)
# Installs only what is missing, so running it again is quick.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"

debs=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libcairo2 fonts-dejavu-core shared-mime-info)
if [ "$mode" = "test" ]; then
  debs+=(poppler-utils zbar-tools)
fi
missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
python3 -c "import ensurepip" 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
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
