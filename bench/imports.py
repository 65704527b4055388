"""CSV import throughput: a file of realistic contacts, uploaded through the native API,
then imported by a separate ``crm worker --once`` process, as production runs it.

The file has loose headers (``First Name``, ``E-mail``, ``Tags``), a column no field has
(kept unmapped), one row in fifty repeating an earlier contact's email (merged into it) and
one in a thousand with a broken email (refused with a row error). Measured: upload rate,
the worker's rows per second from start to finish, and its peak resident memory; the peak
at a tenth of the rows shows whether memory stays flat as files grow.
"""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import load, machine
from bench.data import ContactGenerator, Uniques
from crm.api.app import create_app
from crm.core.workspaces.service import create_workspace
from crm.db.engine import make_engine, transaction
from crm.settings import Settings

RESULTS = Path(__file__).parent / "results"
HEADER = ["First Name", "Last Name", "E-mail", "Phone", "City", "Country", "Company", "Job title"]
KEYS = ["first_name", "last_name", "email", "phone", "city", "country", "company", "title"]


@dataclass
class Options:
    db: str
    url: str
    rows: int
    seed: int


def write_csv(path: Path, rows: int, seed: int) -> dict[str, int]:
    """Write the file; how many rows repeat an email, how many are broken, and its size."""
    people = ContactGenerator(seed, ["owner"], Uniques())
    rng = random.Random(seed)
    emails: list[str] = []
    repeats = broken = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow([*HEADER, "Tags", "Lead score (old CRM)"])
        for _ in range(rows):
            person = people.contact()
            cells = [str(person.get(k) or "") for k in KEYS]
            if emails and rng.random() < 0.02:
                cells[2] = rng.choice(emails)
                repeats += 1
            elif rng.random() < 0.001:
                cells[2] = "not an email"
                broken += 1
            else:
                emails.append(cells[2])
            tags = rng.choice(["", "", "", "vip", "newsletter", "vip; trade show"])
            out.writerow([*cells, tags, rng.randrange(100)])
        size = f.tell()
    return {"repeats": repeats, "broken": broken, "bytes": size}


#: ``crm worker --once`` that reports its own peak resident memory (KiB) on stderr last.
#: The peak is the process's VmHWM: ``getrusage``'s ru_maxrss carries over the parent's
#: peak across fork and exec, so a child of a large process would report the parent's.
_MEASURED_WORKER = """
import sys
from pathlib import Path
from crm.cli.main import app
try:
    app(["worker", "--once", "--database-url", sys.argv[1]])
except SystemExit as stop:
    code = stop.code
status = Path("/proc/self/status").read_text().splitlines()
print(next(line.split()[1] for line in status if line.startswith("VmHWM:")), file=sys.stderr)
sys.exit(code)
"""


def _worker(url: str) -> dict[str, Any]:
    """Run one ``crm worker --once`` process: its wall time and peak RSS."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED_WORKER, url],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seconds = time.perf_counter() - t0
    peak_kib = int(done.stderr.strip().splitlines()[-1])
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak_kib / 1024, 1)}


async def _upload(client: httpx.AsyncClient, path: Path) -> tuple[str, float]:
    async def pieces() -> Any:
        with path.open("rb") as f:
            while piece := f.read(256 * 1024):
                yield piece

    t0 = time.perf_counter()
    answer = await client.post(
        "/api/v1/objects/contact/imports",
        content=pieces(),
        headers={"content-type": "text/csv"},
    )
    assert answer.status_code == 202, answer.text
    return answer.json()["id"], time.perf_counter() - t0


async def run_file(client: httpx.AsyncClient, url: str, path: Path, size: int) -> dict[str, Any]:
    import_id, upload_s = await _upload(client, path)
    worker = _worker(url)
    status = (await client.get(f"/api/v1/imports/{import_id}")).json()
    assert status["status"] == "completed", status
    rows = status["total_rows"]
    size_mb = size / 2**20
    return {
        "rows": rows,
        "file_mb": round(size_mb, 1),
        "upload_mb_per_s": round(size_mb / upload_s, 1),
        "created": status["created"],
        "updated": status["updated"],
        "failed": status["failed"],
        "worker_seconds": worker["seconds"],
        "rows_per_s": round(rows / worker["seconds"], 1),
        "worker_peak_rss_mb": worker["peak_rss_mb"],
    }


async def main(opts: Options) -> dict[str, Any]:
    """Import a tenth of the rows, then all of them, into a fresh database."""
    engine = make_engine(opts.url)
    folder = Path(tempfile.gettempdir())
    files = [folder / f"crm-bench-import-{n}.csv" for n in (opts.rows // 10, opts.rows)]
    try:
        made_files = {
            p.name: write_csv(p, n, opts.seed)
            for p, n in zip(files, (opts.rows // 10, opts.rows), strict=True)
        }
        async with transaction(engine, write=True) as conn:
            made = await create_workspace(conn, name="Import bench", subdomain="bench-import")
        settings = Settings(opts.url, inline_worker=False, rate_limit=0, auth_failures=0)
        app = create_app(settings, engine)
        headers = {"Authorization": f"Bearer {made['api_key']}"}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://bench",
            headers=headers,
            timeout=3600,
        ) as client:
            results = {
                f"rows_{p.stem.rsplit('-', 1)[1]}": await run_file(
                    client, opts.url, p, made_files[p.name]["bytes"]
                )
                for p in files
            }
        out = {
            "benchmark": "import",
            "db": opts.db,
            "files": made_files,
            "machine": machine.machine(),
            "database": await machine.database(engine),
            "results": results,
        }
    finally:
        await engine.dispose()
        for p in files:
            p.unlink(missing_ok=True)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"import-{opts.db}-{opts.rows}.json"
    path.write_text(json.dumps(out, indent=2, default=str) + "\n")
    print(table(out))
    print(f"written to {path}")
    return out


def table(out: dict[str, Any]) -> str:
    """The results as a plain-text table."""
    lines = [f"CSV import on {out['db']} (worker: crm worker --once, one process)"]
    for name, r in out["results"].items():
        lines.append(
            f"  {name:12} {r['rows']:>9} rows {r['file_mb']:>7} MB"
            f"  upload {r['upload_mb_per_s']} MB/s  import {r['rows_per_s']:>8} rows/s"
            f"  worker peak RSS {r['worker_peak_rss_mb']} MB"
        )
    return "\n".join(lines)


def default_url(db: str) -> str:
    return load.default_url(db, 0).replace("-0", "-import").replace("_0", "_import")
