"""An import's file, kept in the database in chunks so that any server can take the upload
and any worker can read it, and so that it is as durable as the records it becomes."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.errors import PayloadTooLarge
from crm.db.engine import transaction
from crm.db.schema import import_chunks

#: Bytes per stored chunk: large enough for few rows, small enough to hold in memory.
CHUNK_BYTES = 1024 * 1024


class Upload:
    """Receives a file piece by piece, storing each full chunk in its own short transaction,
    so a slow upload never holds a lock; refuses a file larger than ``limit`` bytes."""

    def __init__(self, engine: AsyncEngine, import_id: int, limit: int) -> None:
        self.engine, self.import_id, self.limit = engine, import_id, limit
        self.size = 0
        self._seq = 0
        self._pending = bytearray()

    async def write(self, data: bytes) -> None:
        """Take the next piece; PayloadTooLarge once the file passes the limit."""
        self.size += len(data)
        if self.size > self.limit:
            raise PayloadTooLarge(f"The file exceeds the import limit of {self.limit} bytes")
        self._pending += data
        while len(self._pending) >= CHUNK_BYTES:
            await self._store(bytes(self._pending[:CHUNK_BYTES]))
            del self._pending[:CHUNK_BYTES]

    async def close(self) -> None:
        """Store what is left of the file."""
        if self._pending:
            await self._store(bytes(self._pending))
            self._pending.clear()

    async def _store(self, data: bytes) -> None:
        async with transaction(self.engine, write=True) as conn:
            await conn.execute(
                sa.insert(import_chunks).values(import_id=self.import_id, seq=self._seq, data=data)
            )
        self._seq += 1


class ChunkReader:
    """Reads an import's file back, chunk by chunk."""

    def __init__(self, engine: AsyncEngine, import_id: int) -> None:
        self.engine, self.import_id = engine, import_id

    async def __call__(self, seq: int) -> bytes | None:
        """Chunk ``seq`` of the file, or None past its end."""
        async with transaction(self.engine, write=False) as conn:
            data = (
                await conn.execute(
                    sa.select(import_chunks.c.data).where(
                        import_chunks.c.import_id == self.import_id, import_chunks.c.seq == seq
                    )
                )
            ).scalar()
        return bytes(data) if data is not None else None
