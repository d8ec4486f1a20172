#!/usr/bin/env python3
"""Firmware analysis performance, as ratios against baselines run in the same process.

Claims (firmware issue):
  1. full analysis of an image <= 3x the time of bare extraction of the same image by unblob with a working
     squashfs extractor (ours), both as whole processes, and <= 10 s for a 4 MiB router image; the ratio
     against Debian's unsquashfs on the bare squashfs payload is printed too (a C tool with no Python
     start-up and no identification, carving or analysis: a floor, not a like-for-like baseline);
  2. peak memory <= 1 GiB for a 64 MiB image (largest single process of the scan, sandbox included);
  3. a fleet of images with 2 Dask workers >= 1.7x faster than with 1.

Images are built from Debian packages by scripts/build_sample_firmware.py, padded with incompressible files.
Run as root on the machine that runs the tests:  .venv/bin/python benchmarks/firmware.py [--fleet N]
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
UIMAGE_HEADER = 64


def _builder():
    spec = importlib.util.spec_from_file_location("build_sample_firmware", REPO / "scripts" / "build_sample_firmware.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def best_of(n: int, fn) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bare_unsquashfs(image: Path, tmp: Path) -> None:
    payload = tmp / "payload.sqfs"
    payload.write_bytes(image.read_bytes()[UIMAGE_HEADER:])
    out = tmp / "bare"
    subprocess.run(["unsquashfs", "-f", "-no-xattrs", "-d", str(out), str(payload)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["rm", "-rf", str(out), str(payload)], check=True)


BARE_UNBLOB = """
import sys
from pathlib import Path
from unblob.handlers import BUILTIN_HANDLERS
from unblob.processing import ExtractionConfig, process_file
from iotmark.collect.firmware.unblob_handlers import handlers_with_plugin

config = ExtractionConfig(extract_root=Path(sys.argv[2]), randomness_depth=0, process_num=1,
                          handlers=handlers_with_plugin(BUILTIN_HANDLERS))
process_file(config, Path(sys.argv[1]))
"""


def bare_unblob(image: Path, tmp: Path) -> None:
    out = tmp / "unblob-out"
    subprocess.run([sys.executable, "-c", BARE_UNBLOB, str(image), str(out)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["rm", "-rf", str(out)], check=True)


def full_scan_process(image: Path, tmp: Path) -> None:
    out = tmp / "scan-out"
    subprocess.run([sys.executable, "-m", "iotmark.cli", "scan", "firmware", str(image), "--out", str(out)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["rm", "-rf", str(out)], check=True)


def peak_rss_of_scan(image: Path) -> int:
    """Peak RSS in bytes of the largest process of a whole `scan_image` run (child processes included)."""
    code = ("import sys; from pathlib import Path; from iotmark.collect.firmware.scan import scan_image; "
            "scan_image(Path(sys.argv[1]))")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run([sys.executable, "-c", code, str(image)], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(before, after) * 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fleet", type=int, default=8, help="images in the fleet run")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from iotmark.collect.firmware.scan import scan_fleet

    build = _builder()
    cache = Path.home() / ".cache" / "iotmark-debs"
    with tempfile.TemporaryDirectory(prefix="iotmark-bench-") as tmp_name:
        tmp = Path(tmp_name)
        router = build.build_image(tmp / "router-4mib.bin", cache, pad_mib=3)
        print(f"router image: {router.stat().st_size / 2**20:.1f} MiB")

        squash = best_of(args.repeat, lambda: bare_unsquashfs(router, tmp))
        unblob = best_of(args.repeat, lambda: bare_unblob(router, tmp))
        full = best_of(args.repeat, lambda: full_scan_process(router, tmp))
        print(f"1. bare unblob extraction {unblob:.2f} s, full analysis (iotmark scan firmware) {full:.2f} s: "
              f"ratio {full / unblob:.2f}x (target <= 3x: {'met' if full <= 3 * unblob else 'NOT met'}); "
              f"absolute {full:.2f} s (target <= 10 s: {'met' if full <= 10 else 'NOT met'})")
        print(f"   for context: Debian unsquashfs on the bare payload {squash:.2f} s, ratio {full / squash:.1f}x")

        big = build.build_image(tmp / "big-64mib.bin", cache, pad_mib=63)
        peak = peak_rss_of_scan(big)
        print(f"2. {big.stat().st_size / 2**20:.0f} MiB image: peak RSS {peak / 2**20:.0f} MiB "
              f"(target <= 1024 MiB: {'met' if peak <= 2**30 else 'NOT met'})")
        big.unlink()

        fleet_dir = tmp / "fleet"
        images = [build.build_image(fleet_dir / f"device-{i:02d}.bin", cache, pad_mib=3) for i in range(args.fleet)]
        one = best_of(1, lambda: scan_fleet(images, workers=1, work_root=tmp))
        two = best_of(1, lambda: scan_fleet(images, workers=2, work_root=tmp))
        print(f"3. fleet of {len(images)}: 1 worker {one:.2f} s, 2 workers {two:.2f} s: "
              f"speed-up {one / two:.2f}x (target >= 1.7x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
