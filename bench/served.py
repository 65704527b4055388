"""Servers in their own processes, their memory, and wrk's load against them.

The CRM runs as ``crm serve`` and the yardstick as ``uvicorn bench.bare:app``, both with
the same worker count and log settings; wrk runs in a third process. Nothing is pinned to
a core: client, servers and database share the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONNECTIONS = 64
THREADS = 2
#: A server is idle once its processes use less than this share of a core (see ``settle``).
IDLE_SHARE = 0.05
#: The benchmarks set their own rate limits: none, so that no figure is a 429's.
UNLIMITED = {"CRM_RATE_LIMIT": "0", "CRM_AUTH_FAILURES": "0"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's workers are children of its supervisor)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants, in MiB."""
    total_kib = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
        except OSError:
            continue
    return round(total_kib / 1024, 1)


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) of a process and its descendants, in seconds."""
    ticks = 0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """A server process on a local port, with a sampler of its memory while under load."""

    process: subprocess.Popen[bytes]
    port: int
    peak_mb: float = 0.0
    _sampling: threading.Event = field(default_factory=threading.Event)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        return rss_mb(self.process.pid)

    def settle(self, timeout: float = 30.0, window: float = 0.2) -> None:
        """Wait until the server is idle: wrk leaves requests of its closed connections
        behind, which the server still serves, and the next figure should not pay for them."""
        deadline = time.monotonic() + timeout
        used = cpu_seconds(self.process.pid)
        while time.monotonic() < deadline:
            time.sleep(window)
            before, used = used, cpu_seconds(self.process.pid)
            if used - before < IDLE_SHARE * window:
                return

    @contextmanager
    def sampled(self) -> Iterator[None]:
        """Sample memory every 100 ms inside the block; ``peak_mb`` keeps the highest."""
        self._sampling.set()

        def sample() -> None:
            while self._sampling.is_set():
                self.peak_mb = max(self.peak_mb, self.rss_mb())
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            yield
        finally:
            self._sampling.clear()
            sampler.join()


@contextmanager
def serve(command: list[str], env: dict[str, str], port: int) -> Iterator[Server]:
    """Run ``command`` (which listens on ``port``) until the block ends."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            try:
                _wait_for_port(port, process)
            except RuntimeError:
                log.seek(0)
                sys.stderr.write(log.read().decode(errors="replace")[-4000:])
                raise
            yield Server(process, port)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def crm_command(url: str, port: int, workers: int) -> list[str]:
    crm = shutil.which("crm", path=str(Path(sys.executable).parent)) or "crm"
    return [crm, "serve", "--port", str(port), "--workers", str(workers), "--database-url", url]


def bare_command(port: int, workers: int) -> list[str]:
    """The yardstick under the settings ``crm serve`` gives uvicorn."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.bare:app",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
        "--http",
        "httptools",
        "--no-proxy-headers",
    ]


#: wrk script: rotates over PATHS, makes each POST body unique, prints a JSON summary.
_SCRIPT = """
local paths = %(paths)s
local body = %(body)s
local counter = 0
local threads = {}
wrk.method = "%(method)s"
wrk.headers["Authorization"] = "Bearer %(key)s"
wrk.headers["Content-Type"] = "application/json"

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

request = function()
  counter = counter + 1
  local path = paths[(counter %% #paths) + 1]
  if body then
    return wrk.format(nil, path, nil, string.format(body, tid, counter))
  end
  return wrk.format(nil, path)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%%d,"duration_us":%%d,"status_errors":%%d,"socket_errors":%%d,' ..
    '"p50_us":%%d,"p99_us":%%d,"mean_us":%%.1f,"max_us":%%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
"""


def _lua_string(text: str) -> str:
    return json.dumps(text)


def wrk(
    base: str,
    *,
    key: str,
    paths: list[str],
    seconds: float,
    method: str = "GET",
    body: str | None = None,
    connections: int = CONNECTIONS,
) -> dict[str, Any]:
    """Run wrk against ``base`` for ``seconds``; requests/s and latency percentiles.

    ``body`` is a ``string.format`` pattern given the wrk thread's number and its request
    counter, so every created record is a new one.
    """
    script = _SCRIPT % {
        "paths": "{" + ", ".join(_lua_string(p) for p in paths) + "}",
        "body": _lua_string(body) if body is not None else "nil",
        "method": method,
        "key": key,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as f:
        f.write(script)
        f.flush()
        done = subprocess.run(
            [
                "wrk",
                f"-t{THREADS}",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                f.name,
                base + paths[0],
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    seconds_run = found["duration_us"] / 1e6
    return {
        "requests": found["requests"],
        "rps": round(found["requests"] / seconds_run, 1),
        "p50_ms": round(found["p50_us"] / 1000, 2),
        "p99_ms": round(found["p99_us"] / 1000, 2),
        "mean_ms": round(found["mean_us"] / 1000, 2),
        "max_ms": round(found["max_us"] / 1000, 2),
        "errors": found["status_errors"] + found["socket_errors"],
    }
