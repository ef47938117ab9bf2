"""A gateway-like process for the crash tests: writes request rows until it is stopped.

    python -m tests.logs.writer_child KIND LOCATION DURABILITY [COUNT]

strict: eight concurrent "requests" write forever; each prints its request id once its
write returned (the moment a gateway would release the response).
buffered: writes COUNT rows, prints `ready`, and on SIGTERM or SIGINT closes the writer
(as the gateway does on shutdown), prints `closed` and exits 0.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from govern.config import LogConfig
from govern.logs import LogWriter, open_log
from tests.logs.records import record


async def strict_forever(writer: LogWriter) -> None:
    async def client(worker: int) -> None:
        for n in range(worker, 10**9, 8):
            row = record(n)
            await writer.write(row)
            sys.stdout.write(row.request_id + "\n")
            sys.stdout.flush()

    await asyncio.gather(*(client(w) for w in range(8)))


async def buffered_until_signalled(writer: LogWriter, count: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    for n in range(count):
        await writer.write(record(n))
    print("ready", writer.backlog, flush=True)
    await stop.wait()
    await writer.close()
    print("closed", flush=True)


async def main(kind: str, location: str, durability: str, count: int) -> None:
    postgres = kind == "postgres"
    config = LogConfig(
        store="postgres" if postgres else "sqlite",
        postgres_dsn=location if postgres else None,
        durability="strict" if durability == "strict" else "buffered",
        batch_size=100_000,  # buffered: nothing is written before the signal
        flush_interval_ms=600_000,
    )
    writer = await open_log(config, "." if postgres else Path(location).parent)
    if durability == "strict":
        await strict_forever(writer)
    else:
        await buffered_until_signalled(writer, count)


if __name__ == "__main__":
    kind, location, durability = sys.argv[1:4]
    asyncio.run(main(kind, location, durability, int(sys.argv[4]) if len(sys.argv) > 4 else 0))
