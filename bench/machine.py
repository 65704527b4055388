"""What a result was measured on: the machine, the interpreter and the database server."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

PG_SETTINGS = (
    "shared_buffers",
    "work_mem",
    "effective_cache_size",
    "random_page_cost",
    "max_parallel_workers_per_gather",
    "jit",
)


def _meminfo_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine() -> dict[str, Any]:
    """CPU, memory, OS and the versions of Python and the database libraries."""
    return {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "ram_gb": _meminfo_gb(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": version("sqlalchemy"),
        "asyncpg": version("asyncpg"),
        "fastapi": version("fastapi"),
        "starlette": version("starlette"),
        "uvicorn": version("uvicorn"),
        "wrk": _wrk(),
    }


def _wrk() -> str | None:
    """wrk's own version line, or None where it is not installed."""
    try:
        done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return (done.stdout + done.stderr).split("[")[0].strip() or None


async def database(engine: AsyncEngine) -> dict[str, Any]:
    """The server version and the settings that matter for these plans."""
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            pragmas = {}
            for name in ("journal_mode", "synchronous", "cache_size", "mmap_size", "page_size"):
                pragmas[name] = (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
            return {"engine": "sqlite", "version": sqlite3.sqlite_version, "pragmas": pragmas}
        server = (await conn.exec_driver_sql("SHOW server_version")).scalar()
        settings = {
            name: (await conn.exec_driver_sql(f"SHOW {name}")).scalar() for name in PG_SETTINGS
        }
        return {"engine": "postgresql", "version": server, "settings": settings}
