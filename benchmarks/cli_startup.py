"""`iotmark --version` must answer in under 0.3 s. Prints its time and the ratio to a bare interpreter start,
both measured in this run (median of repeated runs)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def median_seconds(cmd: list[str], runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    bare = median_seconds([sys.executable, "-c", "pass"])
    version = median_seconds([sys.executable, "-m", "iotmark.cli", "--version"])
    print(f"python -c pass:     {bare * 1000:7.1f} ms")
    print(f"iotmark --version:  {version * 1000:7.1f} ms  (target < 300 ms: {'met' if version < 0.3 else 'MISSED'})")
    print(f"ratio to bare interpreter start: {version / bare:.2f}x")


if __name__ == "__main__":
    main()
