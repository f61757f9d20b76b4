"""Reading a stored interchange from PostgreSQL in chunks, so a large one never sits in memory whole.

``market_message.raw`` is stored without compression (STORAGE EXTERNAL), so each ``substring`` reads only its own
TOAST chunks; of a compressed value PostgreSQL would decompress everything before the slice, every time.
"""

import io

from sqlalchemy import Engine, text

CHUNK = 1 << 20


class StoredRaw(io.RawIOBase):
    """A read-only file over ``market_message.raw`` of one row, on a connection of its own."""

    def __init__(self, engine: Engine, message_id: int) -> None:
        self.connection = engine.connect()
        self.message_id = message_id
        self.offset = 0
        self.size = self.connection.execute(
            text("SELECT octet_length(raw) FROM market_message WHERE id = :id"), {"id": message_id}
        ).scalar_one()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.offset >= self.size:
            return 0
        wanted = min(len(buffer), CHUNK, self.size - self.offset)
        chunk = self.connection.execute(
            text("SELECT substring(raw FROM :start FOR :length) FROM market_message WHERE id = :id"),
            {"start": self.offset + 1, "length": wanted, "id": self.message_id},
        ).scalar_one()
        buffer[: len(chunk)] = chunk
        self.offset += len(chunk)
        return len(chunk)

    def close(self) -> None:
        if not self.closed:
            self.connection.close()
        super().close()
