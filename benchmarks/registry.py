"""Benchmark the registry under gunicorn (2 workers) on a private PostgreSQL this script starts; print a table.

    .venv/bin/python benchmarks/registry.py [--seconds 10] [--clients 50] [--search-certificates 100000]
                                            [--uploads 1000]

(a) verify API, GET /api/v1/certificates/{id}/verify, vs a trivial JSON endpoint (/bench/ping, same app, through
    Django's handler and middleware like every other page; benchmarks/registry_wsgi.py) at N concurrent keep-alive
    clients: req/s of both, their ratio (target >= 0.5) and verify latency p50/p95/p99 (target p99 <= 100 ms),
    taking turns for --rounds rounds (the median round is judged; each round shows how gunicorn's workers
    shared the connections);
(b) public search, a mix of typical GET /api/v1/products queries over the seeded certificates: p95 (target
    <= 150 ms);
(c) crash safety: the uploads from N concurrent clients, each with an Idempotency-Key; `iotmark serve
    --workers 2` (master and workers) is killed with SIGKILL part-way, restarted, every unacknowledged upload is
    retried with its key, then every certificate must be stored exactly once, byte for byte, and verify.
The load client is asyncio on loopback (raw HTTP/1.1 keep-alive); it shares the machine's cores with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests" / "registry"))

# The registry tests' set-up: Django configured with a scratch home, and the private PostgreSQL server.
import conftest as registry_tests  # noqa: E402

LAB = "Benchmark Test Lab"
# What buyers type and tick on the /products page (market.search filters), round robin.
SEARCH_QUERIES = [
    "/api/v1/products",
    "/api/v1/products?q=camera",
    "/api/v1/products?q=smart+lock&min_level=2",
    "/api/v1/products?q=northwind+plug",
    "/api/v1/products?device_class=consumer-low&sort=support",
    "/api/v1/products?q=router&status=valid",
    "/api/v1/products?min_level=3&sort=newest",
    "/api/v1/products?device_class=home-gateway&updates_until=2028-01-01",
    "/api/v1/products?q=thermostat&page=3",
    "/api/v1/products?sort=name&page=50",
]


# ---- load client -----------------------------------------------------------------------------------------------

class Connection:
    """One HTTP/1.1 keep-alive connection on loopback; reconnects after the server closes it."""

    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"",
                      headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        fields = {}
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip().lower()
        payload = await self.reader.readexactly(int(fields.get(b"content-length", b"0")))
        if fields.get(b"connection") == b"close":
            self.close()
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    seconds: float = 0.0
    server_errors: set[str] = field(default_factory=set)  # paths answered with 5xx
    by_path: dict[str, list[float]] = field(default_factory=dict)

    @property
    def not_ok(self) -> int:
        """Answers other than 200."""
        return sum(n for code, n in self.statuses.items() if code != 200)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: float, path: str | None = None) -> float:
        """Latency percentile in ms, of all requests or of one path's."""
        ordered = sorted(self.latencies if path is None else self.by_path[path])
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


async def _closed_loop(port: int, paths: list[str], clients: int, seconds: float) -> LoadResult:
    result = LoadResult()
    deadline = time.monotonic() + seconds

    async def client(number: int) -> None:
        conn, i = Connection(port), number
        while time.monotonic() < deadline:
            path = paths[i % len(paths)]
            i += clients
            start = time.perf_counter()
            try:
                status, _ = await conn.request("GET", path)
            except (OSError, asyncio.IncompleteReadError):
                result.errors += 1
                conn.close()
                continue
            result.latencies.append(time.perf_counter() - start)
            result.by_path.setdefault(path, []).append(result.latencies[-1])
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status >= 500:
                result.server_errors.add(path)
        conn.close()

    started = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    result.seconds = time.monotonic() - started
    return result


def load(port: int, paths: list[str], clients: int, seconds: float) -> LoadResult:
    """Closed-loop GETs of the paths (round robin) from `clients` connections for `seconds`."""
    return asyncio.run(_closed_loop(port, paths, clients, seconds))


# ---- certificates ----------------------------------------------------------------------------------------------

_SAMPLE: dict[str, object] = {}


def _sample_for_signing(folder: str) -> None:
    # A failing pool initializer makes multiprocessing start workers forever; keep the error for _sign to raise.
    try:
        from iotmark.workflows import collect_sample, sample_dir

        bundle, _ = collect_sample(sample_dir(), Path(tempfile.mkdtemp(dir=folder)))
        _SAMPLE.update(bundle=bundle, key=Path(folder) / "lab" / "issuer.key")
    except Exception as exc:  # noqa: BLE001 - re-raised in the parent by _sign
        _SAMPLE["error"] = f"collecting the sample device failed: {exc}"


def _sign(number: int) -> tuple[str, str, str]:
    """(certificate id, certificate JSON, assessment JSON) for the sample device at firmware 9.<number>."""
    from iotmark.assess.certificate import certificate_bytes
    from iotmark.assess.engine import assess
    from iotmark.workflows import certify

    if "error" in _SAMPLE:
        raise RuntimeError(_SAMPLE["error"])
    bundle = _SAMPLE["bundle"]
    bundle = bundle.model_copy(update={"target": bundle.target.model_copy(
        update={"firmware_version": f"9.{number // 1000}.{number % 1000}"})})
    assessment = assess(bundle)
    cert = certify(bundle, assessment, _SAMPLE["key"], base_url="http://127.0.0.1")
    return cert.id, certificate_bytes(cert).decode(), assessment.model_dump_json(by_alias=True)


def sign_certificates(count: int, folder: Path) -> list[tuple[str, str, str]]:
    """`count` distinct certificates signed with a fresh lab key in `folder`/lab, on two processes."""
    from iotmark.assess.certificate import init_keys

    init_keys(folder / "lab")
    with multiprocessing.get_context("fork").Pool(2, _sample_for_signing, (str(folder),)) as pool:
        return pool.map(_sign, range(count), chunksize=25)


# ---- database and server ---------------------------------------------------------------------------------------

def use_database(url: str) -> None:
    """Point this process's Django at the database and migrate it."""
    from iotmark.registry.server import migrate
    from iotmark.registry.settings import database_config

    registry_tests._use_default_database(database_config(url, registry_tests.HOME))
    migrate()


def vacuum_analyze() -> None:
    """After bulk seeding, what a maintained database has done: otherwise autovacuum starts on the new rows in the
    middle of the first measurement and takes the cores from it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def lab_token(public_key: Path) -> str:
    from iotmark.registry import services

    services.trust_key(public_key.read_bytes(), LAB)
    user = services.create_user("bench-assessor", None, "lab", LAB)
    return services.issue_token(user, "benchmark")


def server_env(database_url: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IOTMARK_", "DJANGO_"))}
    env.update(IOTMARK_HOME=str(home), IOTMARK_DATABASE_URL=database_url,
               IOTMARK_SECRET_KEY="benchmark-secret-key-not-for-production-use-0123456789")
    return env


def start(command: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            status, _ = asyncio.run(Connection(port).request("GET", "/api/openapi.json"))
            if status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"server did not answer: {log.read_text(errors='replace')[-2000:]}")


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(40)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# ---- the three measurements ------------------------------------------------------------------------------------

def load_with_split(port: int, server_pid: int, paths: list[str], clients: int,
                    seconds: float) -> tuple[LoadResult, list[int]]:
    """`load`, and how the clients' connections were shared among the workers one second in."""
    split: list[int] = []
    from iotmark.registry.balance import connections_per_worker

    timer = threading.Timer(min(1.0, seconds / 2), lambda: split.extend(connections_per_worker(server_pid, port)))
    timer.start()
    try:
        return load(port, paths, clients, seconds), split
    finally:
        timer.cancel()


def bench_verify(port: int, server_pid: int, cert_id: str, spread_ids: list[str], clients: int, seconds: float,
                 rounds: int) -> dict[str, object]:
    """Ping vs verify of many distinct certificates in turn (each id comes round again only after the per-process
    cache let go of it, so every request reads the database: the honest figure for a registry whose labels are
    scanned all over) and of one certificate (answered from the cache after the first request every 5 s).

    Ping and verify take turns for `rounds` rounds. Each phase opens its clients' connections anew, and gunicorn's
    workers share a burst of new keep-alive connections unevenly (one may hold 46 of 50 for the whole phase), so
    each round's split is reported and the target is judged on the median round."""
    one = [f"/api/v1/certificates/{cert_id}/verify"]
    spread = [f"/api/v1/certificates/{i}/verify" for i in spread_ids]
    load(port, ["/bench/ping", *one], clients, 2)  # warm both paths
    turns = []
    for number in range(rounds):
        ping, ping_split = load_with_split(port, server_pid, ["/bench/ping"], clients, seconds)
        # each round starts further along the certificates, so no id is asked for twice within the cache period
        offset = number * len(spread) // max(1, rounds)
        verify, verify_split = load_with_split(port, server_pid, spread[offset:] + spread[:offset], clients, seconds)
        turns.append({"ping": ping, "verify": verify, "ping_split": ping_split, "verify_split": verify_split})
    verify_one = load(port, one, clients, seconds)
    # One client at a time: each request's own cost, without queueing behind the others.
    ping_alone = load(port, ["/bench/ping"], 1, seconds / 2)
    verify_alone = load(port, spread[::-1], 1, seconds / 2)
    return {"rounds": turns, "verify_one": verify_one, "ping_alone": ping_alone, "verify_alone": verify_alone,
            "spread": len(spread)}


def bench_search(port: int, clients: int, seconds: float) -> dict[int, LoadResult]:
    """The query mix from one client (each query's own time) and from `clients` at once."""
    load(port, SEARCH_QUERIES, clients, 2)
    return {n: load(port, SEARCH_QUERIES, n, seconds) for n in sorted({1, clients})}


@dataclass
class CrashReport:
    acknowledged_before_kill: int = 0
    killed_in_flight: int = 0
    retried: int = 0
    retry_statuses: dict[int, int] = field(default_factory=dict)
    replayed_acknowledged: int = 0
    replay_statuses: dict[int, int] = field(default_factory=dict)
    stored_rows: int = 0
    duplicates: int = 0
    mismatched: int = 0
    not_verifying: int = 0
    missing: int = 0
    audit_ok: bool | None = None


async def _upload_all(port: int, items: list[tuple[int, bytes]], token: str, clients: int, kill_after: int | None,
                      kill) -> tuple[dict[int, int], int]:
    """Upload the (number, body) items; returns ({number: status} of acknowledged ones, requests cut short)."""
    queue = list(reversed(items))
    acknowledged: dict[int, int] = {}
    cut = 0
    killed = asyncio.Event()

    async def client() -> None:
        nonlocal cut
        conn = Connection(port)
        while queue and not killed.is_set():
            number, body = queue.pop()
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                       "Idempotency-Key": f"bench-upload-{number}"}
            try:
                status, _ = await conn.request("POST", "/api/certificates", body, headers)
            except (OSError, asyncio.IncompleteReadError):
                cut += 1
                conn.close()
                continue
            acknowledged[number] = status
            if kill_after is not None and len(acknowledged) >= kill_after and not killed.is_set():
                killed.set()
                kill()
        conn.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return acknowledged, cut


def bench_crash(port: int, certificates: list[tuple[str, str, str]], token: str, clients: int,
                serve: list[str], env: dict[str, str], log: Path, public_key: Path) -> CrashReport:
    import json

    report = CrashReport()
    bodies = [(n, json.dumps({"certificate": c, "assessment": a}).encode()) for n, (_, c, a) in enumerate(certificates)]
    server = start(serve, env, port, log)

    def kill() -> None:
        from iotmark.registry.balance import worker_pids

        pids = [server.pid, *worker_pids(server.pid)]
        for pid in pids:
            os.kill(pid, signal.SIGKILL)

    first, cut = asyncio.run(_upload_all(port, bodies, token, clients, len(bodies) * 3 // 10, kill))
    server.wait()
    acked = {n for n, status in first.items() if status in (200, 201)}
    report.acknowledged_before_kill, report.killed_in_flight = len(acked), cut
    server = start(serve, env, port, log)
    retry = [item for item in bodies if item[0] not in acked]
    report.retried = len(retry)
    second, _ = asyncio.run(_upload_all(port, retry, token, clients, None, lambda: None))
    for status in second.values():
        report.retry_statuses[status] = report.retry_statuses.get(status, 0) + 1
    # Replaying acknowledged uploads with their keys must change nothing.
    replay = [item for item in bodies if item[0] in acked][:100]
    third, _ = asyncio.run(_upload_all(port, replay, token, clients, None, lambda: None))
    report.replayed_acknowledged = len(replay)
    for status in third.values():
        report.replay_statuses[status] = report.replay_statuses.get(status, 0) + 1
    stop(server)
    check_stored(report, certificates, public_key)
    return report


def check_stored(report: CrashReport, certificates: list[tuple[str, str, str]], public_key: Path) -> None:
    from django.db.models import Count

    from iotmark.assess.certificate import verify_certificate
    from iotmark.registry import audit
    from iotmark.registry.models import Certificate

    rows = {row.cert_id: row for row in Certificate.objects.filter(issuer_key__organisation__name=LAB)}
    report.stored_rows = len(rows)
    report.duplicates = Certificate.objects.values("cert_id").annotate(n=Count("id")).filter(n__gt=1).count()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "certificate.json"
        for cert_id, document, assessment in certificates:
            row = rows.get(cert_id)
            if row is None:
                report.missing += 1
                continue
            if row.document != document or row.assessment != assessment:
                report.mismatched += 1
            path.write_text(row.document, encoding="utf-8")
            if not verify_certificate(path, [public_key]).valid:
                report.not_verifying += 1
    report.audit_ok = audit.verify().ok


def show_server_errors(log: Path, lines: int = 40) -> None:
    """The end of the first traceback in a server log, on stderr, so a 5xx in the table can be traced."""
    text = log.read_text(errors="replace") if log.exists() else ""
    if "Traceback" in text:
        first = text[text.index("Traceback"):].splitlines()
        print("\n".join(first[:lines]), file=sys.stderr)


# ---- report ----------------------------------------------------------------------------------------------------

def shown_split(counts: list[int]) -> str:
    return "/".join(str(c) for c in counts) if counts else "not measured"


def print_report(verify: dict[str, LoadResult] | None, search: dict[int, LoadResult] | str | None, crash: CrashReport | None,
                 args, load_before: tuple[float, float, float]) -> None:
    print(f"\nregistry benchmark, {dt.date.today()}, gunicorn 2 workers x {args.threads} threads, PostgreSQL, "
          f"{os.cpu_count()} cores; load average before the run {load_before[0]:.2f}, "
          f"after {os.getloadavg()[0]:.2f} (the machine is shared)\n")
    print("| measurement | result | target |")
    print("|---|---|---|")
    if verify:
        ratios, p99s = [], []
        for number, turn in enumerate(verify["rounds"], 1):
            ping, ver = turn["ping"], turn["verify"]
            ratios.append(ver.rate / ping.rate)
            p99s.append(ver.percentile(99))
            print(f"| round {number}: /bench/ping, {args.clients} clients | {ping.rate:,.0f} req/s ({ping.errors} "
                  f"errors, non-200: {ping.not_ok}; connections per "
                  f"worker {shown_split(turn['ping_split'])}) | baseline |")
            print(f"| round {number}: verify, {args.clients} clients, {verify['spread']:,} distinct certificates "
                  f"in turn | {ver.rate:,.0f} req/s, ratio {ratios[-1]:.2f} ({ver.errors} errors, non-200: "
                  f"{ver.not_ok}; connections per worker "
                  f"{shown_split(turn['verify_split'])}); p50 / p95 / p99 {ver.percentile(50):.1f} / "
                  f"{ver.percentile(95):.1f} / {ver.percentile(99):.1f} ms | |")
        print(f"| verify / ping throughput, median of {len(ratios)} rounds | {statistics.median(ratios):.2f} "
              f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)}) | >= 0.5 |")
        print(f"| verify latency p99, median of {len(p99s)} rounds | {statistics.median(p99s):.1f} ms "
              f"(rounds: {', '.join(f'{p:.0f}' for p in p99s)}) | p99 <= 100 ms |")
        ping = verify["rounds"][-1]["ping"]
        one = verify["verify_one"]
        print(f"| verify API, {args.clients} clients, one certificate (cached per process for 5 s) | "
              f"{one.rate:,.0f} req/s ({one.rate / ping.rate:.2f} of ping), p99 {one.percentile(99):.1f} ms | |")
        alone_ping, alone_verify = verify["ping_alone"], verify["verify_alone"]
        print(f"| one client: ping / verify p50 | {alone_ping.percentile(50):.2f} / {alone_verify.percentile(50):.2f} ms "
              f"({alone_ping.rate:,.0f} / {alone_verify.rate:,.0f} req/s) | |")
    if isinstance(search, dict):
        for clients, result in search.items():
            print(f"| search mix over {args.search_certificates:,} certificates, {clients} client(s) | "
                  f"p50 {result.percentile(50):.1f} ms, p95 {result.percentile(95):.1f} ms, {result.rate:,.0f} "
                  f"req/s (statuses {result.statuses}) | p95 <= 150 ms |")
        alone = search[1]
        for path in SEARCH_QUERIES:
            if path in alone.by_path:
                print(f"| &nbsp;&nbsp;1 client: `{path.removeprefix('/api/v1/products') or '(no filter)'}` | "
                      f"p50 {alone.percentile(50, path):.0f} ms, p95 {alone.percentile(95, path):.0f} ms | |")
        errors = set().union(*(result.server_errors for result in search.values()))
        if errors:
            print(f"| search: 5xx answers for | {', '.join(sorted(errors))} | none |")
    elif search:
        print(f"| search | not run: {search} | p95 <= 150 ms |")
    if crash:
        print(f"| crash: {args.uploads} uploads, {args.clients} clients, SIGKILL after "
              f"{crash.acknowledged_before_kill} acknowledged | {crash.killed_in_flight} requests cut, "
              f"{crash.retried} retried {crash.retry_statuses}, {crash.replayed_acknowledged} acknowledged "
              f"replayed {crash.replay_statuses} | |")
        sound = (crash.stored_rows == args.uploads and not (crash.duplicates or crash.mismatched
                                                            or crash.not_verifying or crash.missing))
        print(f"| crash: stored afterwards | {crash.stored_rows} rows, {crash.duplicates} duplicated, "
              f"{crash.missing} missing, {crash.mismatched} differing, {crash.not_verifying} not verifying, "
              f"audit chain {'intact' if crash.audit_ok else 'BROKEN'} | {'PASS' if sound else 'FAIL'}: "
              f"each exactly once |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--verify-certificates", type=int, default=50_000,
                        help="distinct certificates the verify load goes through in turn")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="ping/verify rounds (the median is judged)")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    parser.add_argument("--search-certificates", type=int, default=100_000)
    parser.add_argument("--search-clients", type=int, default=10)
    parser.add_argument("--uploads", type=int, default=1000)
    parser.add_argument("--only", choices=["verify", "search", "crash"], action="append")
    args = parser.parse_args()
    parts = set(args.only or ["verify", "search", "crash"])
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="iotmark-bench-"))
    postgres = registry_tests.postgres_server.__wrapped__()
    try:
        pg = next(postgres)
        t = time.monotonic()
        certificates = sign_certificates(args.uploads + 1, work)
        print(f"signed {len(certificates)} certificates in {time.monotonic() - t:.0f} s", file=sys.stderr)
        public_key = work / "lab" / "issuer.pub"
        verify_result = search_result = crash_result = None

        url = pg.create_database("iotmark_bench")
        use_database(url)
        token = lab_token(public_key)
        from iotmark.registry import services
        from django.contrib.auth import get_user_model

        verify_id, cert, assessment = certificates[-1]
        services.upload_certificate(get_user_model().objects.get(username="bench-assessor"), cert, assessment)
        spread_ids: list[str] = []
        if "verify" in parts:
            from iotmark.registry.market.seed import seed_certificates
            from iotmark.registry.models import Certificate

            seed_certificates(args.verify_certificates, rng_seed=7)
            spread_ids = list(Certificate.objects.exclude(cert_id=verify_id).order_by("?")
                              .values_list("cert_id", flat=True)[:args.verify_certificates])
            vacuum_analyze()
        from django.db import connections

        connections.close_all()
        if parts & {"verify", "search"}:
            port = registry_tests._free_port()
            bench = start([sys.executable, str(ROOT / "benchmarks" / "registry_wsgi.py"), str(port), "2",
                           str(args.threads)], server_env(url, work / "home"), port, work / "bench-server.log")
            try:
                if "verify" in parts:
                    verify_result = bench_verify(port, bench.pid, verify_id, spread_ids, args.clients, args.seconds,
                                                 args.rounds)
                if "search" in parts:
                    search_result = seed_and_search(port, args, url)
            finally:
                stop(bench)
                show_server_errors(work / "bench-server.log")
        if "crash" in parts:
            crash_url = pg.create_database("iotmark_crash")
            use_database(crash_url)
            token = lab_token(public_key)
            connections.close_all()
            port = registry_tests._free_port()
            serve = [str(Path(sys.executable).with_name("iotmark")), "serve", "--workers", "2", "--threads",
                     str(args.threads), "--port", str(port)]
            crash_result = bench_crash(port, certificates[:args.uploads], token, args.clients, serve,
                                       server_env(crash_url, work / "home"), work / "crash-server.log", public_key)
        print_report(verify_result, search_result, crash_result, args, load_before)
    finally:
        postgres.close()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(registry_tests.HOME, ignore_errors=True)


def seed_and_search(port: int, args, url: str) -> dict[int, LoadResult] | str:
    """Seed the certificates with the market app's seeder, then run the query mix; a reason if it cannot run."""
    try:
        from iotmark.registry.market.seed import seed_certificates
    except ImportError as exc:
        return f"market seeder missing ({exc})"
    from django.db import connections

    from iotmark.registry.models import Certificate

    t = time.monotonic()
    # The verify part may have seeded some already: top up to the size asked for.
    more = max(0, args.search_certificates - Certificate.objects.count())
    seed_certificates(more)
    vacuum_analyze()
    connections.close_all()
    print(f"seeded {more:,} more certificates in {time.monotonic() - t:.0f} s", file=sys.stderr)
    status, _ = asyncio.run(Connection(port).request("GET", SEARCH_QUERIES[0]))
    if status == 404:
        return "GET /api/v1/products answers 404 (the market search API is not there)"
    return bench_search(port, args.search_clients, args.seconds)


if __name__ == "__main__":
    main()
