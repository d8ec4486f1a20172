"""Keep-alive connections shared evenly among gunicorn's workers.

gunicorn's workers all accept from one listening socket, and whichever wakes first takes the connection. When many
keep-alive connections arrive at once (a reverse proxy filling its upstream pool, a burst of clients), one worker can
take nearly all of them and keep them: measured with 50 clients and 2 workers, splits of 46/4 and 49/1, so one
worker's core did all the work and its clients waited twice as long. `BalancedThreadWorker` is gunicorn's threaded
worker that leaves a new connection to its siblings while it holds clearly more connections than the least loaded
of them and all its threads are taken; each worker publishes its count on a small shared board made by the master
before it forks. A worker never waits more than DECLINE_SECONDS for a sibling to take a connection, so a stuck or
restarting sibling cannot starve clients.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import time
from pathlib import Path

from gunicorn.workers.gthread import ThreadWorker

SLOTS = 64  # at least `iotmark serve --workers`' maximum
DECLINE_SECONDS = 0.02
PAUSE_SECONDS = 0.0002  # between two looks at a connection left to the others (the socket stays readable)

# [pid, connections] per worker slot, in memory the forked workers share with the master.
_board = None
_lock = None


def prepare_board() -> None:
    """Make the shared board; called in gunicorn's master before the workers are forked."""
    global _board, _lock
    _board = multiprocessing.RawArray(ctypes.c_long, 2 * SLOTS)
    _lock = multiprocessing.Lock()


def forget_worker(server, worker) -> None:
    """gunicorn's child_exit hook: free the slot of a worker that ended."""
    if _board is None:
        return
    with _lock:
        for slot in range(SLOTS):
            if _board[2 * slot] == worker.pid:
                _board[2 * slot] = _board[2 * slot + 1] = 0


class BalancedThreadWorker(ThreadWorker):
    """gunicorn's gthread worker that leaves new connections to less loaded siblings."""

    def init_process(self) -> None:
        self._slot = self._claim_slot()
        self._declined_since: float | None = None
        self._last_declined = 0.0
        super().init_process()

    def _claim_slot(self) -> int | None:
        if _board is None:
            return None
        with _lock:
            for slot in range(SLOTS):
                if _board[2 * slot] == 0:
                    _board[2 * slot], _board[2 * slot + 1] = self.pid, 0
                    return slot
        return None

    def _publish(self) -> None:
        if self._slot is not None:
            _board[2 * self._slot + 1] = self.nr_conns

    def _leave_to_others(self) -> bool:
        self._publish()
        if self._slot is None or self.nr_conns < self.cfg.threads:
            return False  # a free thread: take it now
        others = [_board[2 * slot + 1] for slot in range(SLOTS)
                  if slot != self._slot and _board[2 * slot] != 0]
        if not others or self.nr_conns <= min(others) + max(2, self.cfg.threads // 4):
            return False
        now = time.monotonic()
        # A new pending connection starts a new wait; declines in a row (PAUSE_SECONDS apart) are the same one.
        if self._declined_since is None or now - self._last_declined > 20 * PAUSE_SECONDS:
            self._declined_since = now
        self._last_declined = now
        return now - self._declined_since < DECLINE_SECONDS

    def accept(self, listener) -> None:
        if self._leave_to_others():
            time.sleep(PAUSE_SECONDS)
            return
        self._declined_since = None
        super().accept(listener)
        self._publish()

    def finish_request(self, conn, fs) -> None:
        super().finish_request(conn, fs)
        self._publish()


def worker_pids(master_pid: int) -> list[int]:
    """The child processes of `master_pid` (a server's workers), from /proc (Linux); [] once it has ended."""
    path = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    try:
        return [int(pid) for pid in path.read_text().split()]
    except OSError:
        return []


def connections_per_worker(master_pid: int, port: int) -> list[int]:
    """Established client connections each child of `master_pid` holds on local `port` (from /proc; Linux),
    largest first: shows how a server's workers share their clients."""
    established: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # ESTABLISHED, local port
                established.add(fields[9])  # socket inode
    counts = []
    for pid in worker_pids(master_pid):
        held = 0
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                held += target.startswith("socket:[") and target[8:-1] in established
        except OSError:
            continue
        counts.append(held)
    return sorted(counts, reverse=True)
