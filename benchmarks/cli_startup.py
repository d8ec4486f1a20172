"""`iotmark --version` must answer in under 150 ms (the project's limit for start-up is 300 ms); `iotmark --help`,
which draws Typer's boxed help page with rich, is measured for information. Prints, for each, the median wall-clock
and CPU time of repeated runs and the ratio to a bare interpreter start measured in the same run.

CPU time (user + system of the child) is printed next to wall-clock time because on a shared machine the wall
clock also counts the time spent waiting for a core."""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = {"--version": 0.15}


def median_seconds(cmd: list[str], runs: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds of `runs` runs of `cmd`."""
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(wall), statistics.median(cpu)


def iotmark_command() -> list[str]:
    """The installed console script next to this interpreter, else `python -m iotmark`."""
    script = Path(sys.executable).with_name("iotmark")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "iotmark"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per command (median reported)")
    runs = parser.parse_args().runs
    bare, bare_cpu = median_seconds([sys.executable, "-c", "pass"], runs)
    print(f"python -c pass:     {bare * 1000:7.1f} ms  (cpu {bare_cpu * 1000:6.1f} ms)")
    for option in ("--version", "--help"):
        wall, cpu = median_seconds([*iotmark_command(), option], runs)
        target = TARGET_S.get(option)
        verdict = ("no target" if target is None else
                   f"target < {target * 1000:.0f} ms: {'met' if wall < target else 'MISSED'}")
        print(f"iotmark {option + ':':10s} {wall * 1000:7.1f} ms  (cpu {cpu * 1000:6.1f} ms)  "
              f"{wall / bare:5.2f}x bare start  ({verdict})")


if __name__ == "__main__":
    main()
