"""Start govern for the benchmark: `python -m govern.serve`, optionally with logging off.

`--no-log` detaches the request log from the accountant once the gateway has started, so
no `RequestRecord` is built or queued: the request path runs exactly as with logging on,
minus the log. It stands in for a config switch (`log.store: none`) that govern does not
have yet. `--transport NAME` picks the upstream transport when the config cannot name it
(`server.transport` does not list `httptools` yet). Everything else is passed to
`govern.serve` unchanged.

    python benchmarks/govern_server.py [--no-log] [--transport NAME] --config FILE
"""

from __future__ import annotations

import sys

from govern import serve
from govern.gateway import Gateway


def _without_log() -> None:
    start = Gateway.start

    async def start_without_log(self: Gateway) -> None:
        await start(self)
        self.accountant.log = None

    Gateway.start = start_without_log  # type: ignore[method-assign]


def _with_transport(transport: str) -> None:
    import govern.gateway
    from govern.transport import Transport, make_transport

    def chosen(name: str) -> Transport:
        return make_transport(transport)

    govern.gateway.make_transport = chosen  # type: ignore[attr-defined]


def main(argv: list[str]) -> int:
    """Run govern.serve with `argv` (less `--no-log`, which switches the log off, and
    `--transport NAME`, which picks the upstream transport whatever the config says)."""
    if "--no-log" in argv:
        argv = [a for a in argv if a != "--no-log"]
        _without_log()
    if "--transport" in argv:
        i = argv.index("--transport")
        _with_transport(argv[i + 1])
        argv = argv[:i] + argv[i + 2 :]
    return serve.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
