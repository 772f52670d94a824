"""Fan-out benchmark: calls pushed to 1,000 / 5,000 / 10,000 WebSocket clients of one server process.

Run from the repository root (under the shared benchmark lock on a shared machine)::

    flock /tmp/antre-bench.lock python -m benchmarks.fanout [--quick]

For each size the benchmark starts a fresh ``antre serve`` (the real command: uvicorn with its
options from ``queue_engine/cli.py``, a SQLite log in a temporary directory) on a free port, takes
one LOKET ticket per phone from the kiosk API, and connects the clients from separate processes
(``--procs``; asyncio each, a minimal WebSocket client that only timestamps frames and answers
pings): 95 % phones on ``/ws/ticket/{token}``, 5 % boards on ``/ws/board/ruang-tunggu``. Then the
staff (``petugas-loket``, logged in over HTTP, with its CSRF token) calls the next number at
loket-1 and loket-2 in turn, one call every ``--interval`` seconds, each with
``complete_current``. Every call changes every LOKET phone's view (``people_ahead``, ETA) and the
board, so each call is one message to every client.

Figures:

* ``fanout_p50_ms_<size>`` / ``fanout_p99_ms_<size>``: over every (call, client) pair, the time
  from just before the staff's HTTP request to the client's receipt of its first message labelled
  with that call's log position. Both ends read ``CLOCK_MONOTONIC`` (``time.monotonic_ns``), which
  is one clock for every process on a Linux machine.
* ``fanout_last_ms_<size>``: median over calls of the time until the LAST client had it.
* ``rss_kb_per_conn_<size>``: the server's VmRSS after every client has its snapshot, minus VmRSS
  before the first connection, divided by the connections (``rss_kb_per_conn``: the largest size).
* The **stuck client** (at the largest size): a board on a raw socket with a 4 KB receive buffer
  that reads its handshake and then nothing. The burst is run again (at most 10 calls) with it;
  ``stuck_rate_ratio`` is the others' delivery rate with it over without it (target >= 0.9): per
  call, messages delivered over the time until the last client had it; the median over its calls,
  against the same number of calls from the start of the first burst. Its socket buffers hold
  about 3 MB, more than a burst sends a board, so it then sends pings and reads none of the pongs
  until the hub drops it (``antre_ws_clients{kind="board"}`` goes down by one), with the server's
  RSS sampled meanwhile; then it reads everything: the last frame must be a close with code 4008.

The last line is one JSON object with every figure and the machine (``machine.report_fields``);
``others_cpu_pct`` is the CPU that processes other than this benchmark, its server and its
clients took meanwhile.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import multiprocessing as mp
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import CpuWatch, machine_info, report_fields, tmp_fs, version
from benchmarks.wsclient import run_clients

TARGETS = {"fanout_p99_ms_10k": ("<=", 250.0), "rss_kb_per_conn": ("<=", 32.0), "stuck_rate_ratio": (">=", 0.9)}
DEMO = Path(__file__).resolve().parent.parent / "queue_engine" / "demo" / "puskesmas.toml"
METRICS_TOKEN = "fanout-bench-metrics"
BOARD_PATH = "/ws/board/ruang-tunggu?token=papan-demo"
ROOT = Path(__file__).resolve().parent.parent


def raise_nofile() -> int:
    """Raise this process's open-file limit to its hard limit (children inherit it); the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def facility_toml(directory: Path) -> Path:
    """The demo puskesmas without quotas and opening hours: 10,000 LOKET tickets must be issuable."""
    lines = [ln for ln in DEMO.read_text().splitlines() if not ln.startswith(("quota =", "hours ="))]
    path = directory / "facility.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


class Server:
    """``antre serve`` in a subprocess (from ``--server-root``, for before/after runs), until :meth:`stop`."""

    def __init__(self, directory: Path, args: argparse.Namespace, name: str) -> None:
        self.port = free_port()
        root = Path(args.server_root).resolve() if args.server_root else ROOT
        env = dict(os.environ, ANTRE_SECRET_KEY="fanout-bench", ANTRE_METRICS_TOKEN=METRICS_TOKEN)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
        cmd = [sys.executable, "-m", "queue_engine.cli", "serve", "--facility", str(facility_toml(directory))]
        cmd += ["--log-url", f"sqlite:///{directory / f'{name}.db'}", "--host", "127.0.0.1", "--port", str(self.port)]
        cmd += args.server_args.split()
        self.proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=None, text=True)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 60
        for line in self.proc.stdout:  # the server prints its URLs, then "siap / ready" once it listens
            if "ready" in line:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start in 60 s")
        else:
            raise RuntimeError(f"the server exited with {self.proc.wait()}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Http:
    """One keep-alive HTTP/1.1 connection, optionally logged in (session cookie + CSRF token)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers: dict[str, str] = {"Content-Type": "application/json"}

    def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        try:
            self.conn.request(method, path, body=data, headers=self.headers)
            resp = self.conn.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # uvicorn closes a keep-alive connection idle for 5 s; the request was not taken: send it again
            self.conn.close()
            self.conn.request(method, path, body=data, headers=self.headers)
            resp = self.conn.getresponse()
        raw = resp.read()
        if cookie := resp.getheader("set-cookie"):
            self.headers["Cookie"] = cookie.split(";", 1)[0]
        ctype = resp.getheader("content-type") or ""
        return resp.status, json.loads(raw) if ctype.startswith("application/json") else raw.decode()

    def login(self, username: str, password: str) -> Http:
        status, me = self("POST", "/api/v1/auth/login", {"username": username, "password": password})
        if status != 200:
            raise RuntimeError(f"login {username}: {status} {me}")
        self.headers["X-CSRF-Token"] = me["csrf"]
        return self

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = self(method, path, body)
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {answer}")
        return answer

    def metrics(self) -> dict[str, float]:
        """/metrics as {series with labels: value} (what the server counts itself)."""
        saved = dict(self.headers)
        self.headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        try:
            _status, text = self("GET", "/metrics")
        finally:
            self.headers = saved
        return {k: float(v) for k, _, v in (ln.rpartition(" ") for ln in text.splitlines() if ln[:1] != "#")}

    def ws_clients(self) -> dict[str, int]:
        """``antre_ws_clients{kind}``: what the hub counts as subscribed."""
        return {
            key.split('kind="', 1)[1].split('"', 1)[0]: int(value)
            for key, value in self.metrics().items()
            if key.startswith("antre_ws_clients{")
        }


def issue_tickets(port: int, n: int, threads: int = 16) -> list[str]:
    """``n`` LOKET tickets from the kiosk API, ``threads`` keep-alive connections at once; their tokens."""

    def issue(count: int) -> list[str]:
        http = Http(port)
        http.headers["Authorization"] = "Bearer kiosk-demo"
        return [http.ok("POST", "/api/v1/tickets", {"service": "LOKET"})["token"] for _ in range(count)]

    shares = [n // threads + (i < n % threads) for i in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        return [token for part in pool.map(issue, shares) for token in part]


def start_clients(port: int, paths: list[str], procs: int) -> list[tuple[Any, Any]]:
    ctx = mp.get_context("spawn")
    out = []
    for i in range(procs):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=run_clients, args=(child, port, paths[i::procs]), daemon=True)
        proc.start()
        out.append((proc, parent))
    return out


def ask(clients: list[tuple[Any, Any]], command: str, timeout: float = 300.0) -> list[Any]:
    for _, pipe in clients:
        pipe.send(command)
    answers = []
    for proc, pipe in clients:
        if not pipe.poll(timeout):
            raise RuntimeError(f"client process {proc.pid} did not answer {command!r}")
        answers.append(pipe.recv())
    return answers


def burst(staff: Http, calls: int, interval: float) -> list[tuple[int, int, int]]:
    """``calls`` call-nexts, one every ``interval`` s; (log position, start ns, HTTP answer ns) each."""
    out = []
    for i in range(calls):
        t0 = time.monotonic_ns()
        answer = staff.ok("POST", f"/api/v1/counters/loket-{1 + i % 2}/call-next", {"complete_current": True})
        out.append((answer["position"], t0, time.monotonic_ns()))
        time.sleep(max(0.0, interval - (time.monotonic_ns() - t0) / 1e9))
    return out


def size_label(size: int) -> str:
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def measure(clients: list[tuple[Any, Any]], staff: Http, calls: int, interval: float, settle: float) -> dict[str, Any]:
    """One burst; latencies from the clients' receipts of each call's position."""
    ask(clients, "reset")
    before = staff.metrics()
    sent = burst(staff, calls, interval)
    time.sleep(settle)
    after = staff.metrics()
    series = 'antre_append_seconds_{}{{command="CallNext"}}'
    appends = after[series.format("count")] - before.get(series.format("count"), 0)
    append_ms = 1000 * (after[series.format("sum")] - before.get(series.format("sum"), 0)) / max(appends, 1)
    receipts: dict[int, list[int]] = {}
    for answer in ask(clients, "receipts"):
        for position, stamps in answer.items():
            receipts.setdefault(position, []).extend(stamps)
    latencies, lasts, rates, delivered = [], [], [], 0
    for position, t0, _t1 in sent:
        stamps = receipts.get(position, [])
        delivered += len(stamps)
        if stamps:
            ms = [(t - t0) / 1e6 for t in stamps]
            latencies.extend(ms)
            lasts.append(max(ms))
            rates.append(len(stamps) / (max(ms) / 1000))
    http_ms = [(t1 - t0) / 1e6 for _, t0, t1 in sent]
    return {
        "p50": percentile(latencies, 0.50),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies, default=float("nan")),
        "last": statistics.median(lasts) if lasts else float("nan"),
        "rate": statistics.median(rates) if rates else 0.0,
        "rates": rates,
        "http_p50": percentile(http_ms, 0.5),
        "append_ms": append_ms,
        "delivered": delivered,
        "calls": len(sent),
    }


def stuck_socket(port: int) -> socket.socket:
    """A board that completes its handshake and then never reads: 4 KB receive window."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # its pings go out as sent, not bunched by Nagle
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {BOARD_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)  # one byte at a time: not one byte of the data that follows is read
    if b" 101 " not in head.split(b"\r\n", 1)[0]:
        raise RuntimeError(f"stuck client refused: {head!r}")
    return sock


def drain_close_code(sock: socket.socket, within: float = 30.0) -> tuple[int | None, int]:
    """Read everything the server buffered for the stuck client: (close code or None, bytes read)."""
    sock.settimeout(within)
    data = bytearray()
    try:
        while chunk := sock.recv(1 << 20):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    code, i = None, 0
    while i + 2 <= len(data):
        opcode, length, i = data[i] & 0x0F, data[i + 1] & 0x7F, i + 2
        if length >= 126:
            size = 2 if length == 126 else 8
            length, i = int.from_bytes(data[i : i + size], "big"), i + size
        if opcode == 8 and length >= 2:
            code = int.from_bytes(data[i : i + 2], "big")
        i += length
    return code, len(data)


#: a client's {"type":"ping"} frame (masked, as a client must); the stuck client sends many and reads no pong
PING = b"\x81\x8f" + bytes(4) + b'{"type":"ping"}'


def stuck_phase(server: Server, clients: list[Any], staff: Http, args: argparse.Namespace, base: dict[str, Any]):
    """The same burst with a stuck board connected; then fill its queue until the hub drops it (4008)."""
    print("   stuck client: a board that reads nothing joins; the same burst again")
    sock = stuck_socket(server.port)
    connected = time.monotonic()
    boards = staff.ws_clients().get("board", 0)
    # at most 10 calls: the fill below must end before uvicorn's keepalive closes it (about 40 s)
    with_stuck = measure(clients, staff, min(args.calls, 10), args.interval, args.settle)
    # against the same number of calls from the start of the first burst (later calls queue up more)
    normal = statistics.median(base["rates"][: len(with_stuck["rates"])] or [0.0])
    ratio = with_stuck["rate"] / normal if normal else float("nan")
    print(
        f"   with it: p50 {with_stuck['p50']:.1f} ms  p99 {with_stuck['p99']:.1f} ms  rate {with_stuck['rate']:,.0f}/s"
        f" = {ratio:.2f}x the rate without it"
    )
    # Its socket buffers (about 3 MB on loopback) hold far more than a burst sends a board. To fill its
    # queue before uvicorn's keepalive (no pong within 20 s of a ping) closes it, it now sends pings and
    # reads none of the pongs: each pong is queued behind the board's updates like any message. Sent
    # 25 every 5 ms (a queue holds 256), so that what fills the queue is its full socket, not a burst.
    rss, t, pings, dropped = [server.rss_kb()], time.monotonic(), 0, False
    while not dropped and time.monotonic() - t < 30:
        for _ in range(50):
            sock.sendall(PING * 25)
            time.sleep(0.005)
        pings += 1250
        rss.append(server.rss_kb())
        dropped = staff.ws_clients().get("board", 0) == boards - 1
    fill_s = time.monotonic() - t
    code, nbytes = drain_close_code(sock)
    sock.close()
    after = staff.ws_clients()
    print(
        f"   then {pings:,} pings: dropped by the hub {fill_s:.1f} s later ({time.monotonic() - connected:.0f} s"
        f" after it connected): {dropped}; it then read {nbytes / 1e6:.1f} MB and close code {code}; server RSS"
        f" {rss[0] / 1024:.0f} -> max {max(rss) / 1024:.0f} MB; boards subscribed {boards} -> {after.get('board', 0)}"
    )
    return {
        "stuck_rate_ratio": round(ratio, 3),
        "stuck_p50_ms": round(with_stuck["p50"], 1),
        "stuck_p99_ms": round(with_stuck["p99"], 1),
        "stuck_dropped": dropped,
        "stuck_close_code": code,
        "stuck_drop_s": round(fill_s, 1),
        "stuck_pings": pings,
        "stuck_bytes_buffered": nbytes,
        "stuck_rss_mb_before": round(rss[0] / 1024, 1),
        "stuck_rss_mb_max": round(max(rss) / 1024, 1),
        "stuck_others_kept": after.get("board", 0) == boards - 1 and after.get("ticket", 0) > 0,
    }


def run_size(size: int, args: argparse.Namespace, directory: Path, stuck: bool) -> dict[str, Any]:
    boards = max(1, round(size * args.boards))
    phones = size - boards
    procs = args.procs or max(2, -(-size // 2500))
    print(f"\n== {size:,} clients: {phones:,} phones + {boards:,} boards, {procs} client processes ==")
    server = Server(directory, args, f"s{size}")
    clients: list[tuple[Any, Any]] = []
    try:
        staff = Http(server.port).login("petugas-loket", "petugas-demo")
        for counter in ("loket-1", "loket-2"):
            staff.ok("POST", f"/api/v1/counters/{counter}/open", {})
        t = time.monotonic()
        extra = (args.calls + args.warmup) * (2 if stuck else 1) + 2
        tokens = issue_tickets(server.port, phones + extra)
        print(f"   issued {len(tokens):,} LOKET tickets in {time.monotonic() - t:.1f} s (kiosk API)")
        # Phones on the tickets in call order (the first calls call, then complete, subscribed tickets);
        # boards last, so that start_clients' round robin gives every process its share of them.
        paths = [f"/ws/ticket/{tok}" for tok in tokens[:phones]] + [BOARD_PATH] * boards
        rss_before = server.rss_kb()
        t = time.monotonic()
        clients = start_clients(server.port, paths, procs)
        ready = ask(clients, "ready", timeout=600)
        connected = sum(n for n, _ in ready)
        failed = sum(f for _, f in ready)
        time.sleep(1.0)  # let the last handshakes' garbage settle before reading RSS
        rss_after = server.rss_kb()
        per_conn = (rss_after - rss_before) / max(connected, 1)
        counted = Http(server.port).ws_clients()
        print(
            f"   connected {connected:,} (failed {failed}) in {time.monotonic() - t:.1f} s; hub counts {counted};"
            f" server RSS {rss_before / 1024:.0f} -> {rss_after / 1024:.0f} MB = {per_conn:.1f} KB per connection"
        )
        if connected != size:
            raise RuntimeError(f"only {connected} of {size} clients connected")
        burst(staff, args.warmup, args.interval)
        label = size_label(size)
        cpu = server.cpu_s()
        spy = profiler(server.pid, args.profile, label) if args.profile else None
        base = measure(clients, staff, args.calls, args.interval, args.settle)
        busy = server.cpu_s() - cpu
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        print(
            f"   {base['calls']} calls every {args.interval} s: fan-out p50 {base['p50']:.1f} ms  p99"
            f" {base['p99']:.1f} ms  max {base['max']:.1f} ms; last client (median) {base['last']:.1f} ms;"
            f" {base['delivered']:,} messages; {base['rate']:,.0f} messages/s per call; staff call-next"
            f" answered in {base['http_p50']:.1f} ms (p50; submit to durable and pushed to the hub's queues:"
            f" {base['append_ms']:.1f} ms mean); server CPU {busy:.1f} s; RSS after {server.rss_kb() / 1024:.0f} MB"
        )
        out: dict[str, Any] = {
            f"fanout_p50_ms_{label}": round(base["p50"], 1),
            f"fanout_p99_ms_{label}": round(base["p99"], 1),
            f"fanout_max_ms_{label}": round(base["max"], 1),
            f"fanout_last_ms_{label}": round(base["last"], 1),
            f"messages_per_s_{label}": round(base["rate"]),
            f"call_http_ms_{label}": round(base["http_p50"], 1),
            f"call_append_ms_{label}": round(base["append_ms"], 1),
            f"server_cpu_s_{label}": round(busy, 1),
            f"rss_kb_per_conn_{label}": round(per_conn, 1),
            f"rss_mb_after_burst_{label}": round(server.rss_kb() / 1024, 1),
        }
        if stuck:
            out |= stuck_phase(server, clients, staff, args, base)
        return out
    finally:
        try:
            for _, pipe in clients:
                with contextlib.suppress(OSError):
                    pipe.send("stop")
            for proc, _ in clients:
                proc.join(10)
                if proc.is_alive():
                    proc.terminate()
        finally:
            server.stop()


def profiler(pid: int, prefix: str, label: str) -> subprocess.Popen[bytes]:
    """py-spy sampling the server (collapsed stacks, for flame graphs or grep) until SIGINT."""
    out = f"{prefix}-{label}.txt"
    print(f"   profiling the server during the burst: {out}")
    cmd = ["py-spy", "record", "--pid", str(pid), "--format", "raw", "--output", out, "--nonblocking", "--rate", "250"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class TreeCpuWatch(CpuWatch):
    """:class:`CpuWatch` counting this process's waited-for children (server, clients) as its own."""

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        sample = CpuWatch._sample()
        if sample is None:
            return None
        t = os.times()
        return sample[0], sample[1] + t.children_user + t.children_system, sample[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="WebSocket fan-out benchmark (see the module docstring).")
    parser.add_argument("--quick", action="store_true", help="1,000 clients only, shorter burst (CI, < 60 s)")
    parser.add_argument("--sizes", default=None, help="comma-separated client counts (default 1000,5000,10000)")
    parser.add_argument("--boards", type=float, default=0.05, help="share of boards among the clients")
    parser.add_argument("--calls", type=int, default=None, help="measured calls per size (default 20; quick 10)")
    parser.add_argument("--warmup", type=int, default=2, help="calls before measuring")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between calls")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to wait after the last call")
    parser.add_argument("--procs", type=int, default=0, help="client processes (default: one per 2,500, at least 2)")
    parser.add_argument("--no-stuck", action="store_true", help="skip the stuck-client phase")
    parser.add_argument("--profile", default=None, help="py-spy the server during each burst, into PREFIX-<size>.txt")
    parser.add_argument("--server-root", default=None, help="run the server from this source tree (before/after)")
    parser.add_argument("--server-args", default="", help="extra 'antre serve' options, e.g. '--loop asyncio'")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in (args.sizes or ("1000" if args.quick else "1000,5000,10000")).split(",")]
    args.calls = args.calls or (10 if args.quick else 20)
    if args.quick:
        args.interval, args.settle = min(args.interval, 0.5), min(args.settle, 2.0)
    limit = raise_nofile()
    if limit < max(sizes) + 1024:
        print(f"benchmarks.fanout: open-file limit {limit} is too low for {max(sizes):,} clients", file=sys.stderr)
        return 2
    info = machine_info()
    info["libs"] += ", " + ", ".join(f"{d} {version(d)}" for d in ("uvicorn", "websockets", "starlette", "uvloop"))
    watch, started = TreeCpuWatch(), time.perf_counter()
    print(f"Antre fan-out benchmark ({'quick' if args.quick else 'full'}) {datetime.now(UTC):%Y-%m-%d %H:%M UTC}")
    for key, value in info.items():
        print(f"   {key}: {value}")
    print(f"   open files: {limit}; server: antre serve {args.server_args} from {args.server_root or ROOT}")
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="antre-fanout-") as name:
        figures["tmp_fs"] = tmp_fs(Path(name))
        for size in sizes:
            figures |= run_size(size, args, Path(name), stuck=size == max(sizes) and not args.no_stuck)
    figures["rss_kb_per_conn"] = figures[f"rss_kb_per_conn_{size_label(max(sizes))}"]
    others = watch.others_pct()
    total = time.perf_counter() - started
    print(f"\n== against targets; {total:.0f} s in all ==")
    met = figures.setdefault("targets_met", {})
    for key, (direction, target) in TARGETS.items():
        if key in figures:
            value = figures[key]
            met[key] = value <= target if direction == "<=" else value >= target
            print(f"   {key:>20}: {value:>10} target {direction} {target} {'ok' if met[key] else 'MISSED'}")
    if "stuck_dropped" in figures:
        met["stuck_dropped_4008"] = figures["stuck_dropped"] and figures["stuck_close_code"] == 4008
    print(f"   other processes used {others}% of the {info['cores']} cores meanwhile")
    figures.update(
        mode="quick" if args.quick else "full",
        sizes=sizes,
        calls=args.calls,
        interval_s=args.interval,
        libs=info["libs"],
        **report_fields(info, others, total),
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
