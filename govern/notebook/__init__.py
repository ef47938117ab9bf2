"""govern in Jupyter: `%load_ext govern` starts the embedded gateway in the kernel and
adds the `%govern` magic; `govern.client()` returns an OpenAI client pointed at it.

The extension and panels need the `[notebook]` extra (`pip install 'govern[notebook]'`);
the clients and the session functions here do not.
"""

from __future__ import annotations

from typing import Any

from govern.notebook.session import (
    Embedded,
    Remote,
    Target,
    async_client,
    client,
    connect,
    current,
    disconnect,
    embedded,
    export_env,
    start,
    stop,
    target,
)

__all__ = [
    "Embedded",
    "Remote",
    "Target",
    "async_client",
    "client",
    "connect",
    "current",
    "disconnect",
    "embedded",
    "export_env",
    "load_ipython_extension",
    "start",
    "stop",
    "target",
    "unload_ipython_extension",
]


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext govern`: start the embedded gateway, add `%govern`, show its status."""
    from govern.notebook.extension import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """`%unload_ext govern`: stop the embedded gateway (its request log flushed)."""
    from govern.notebook.extension import unload

    unload(ipython)
