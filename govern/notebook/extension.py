"""Loading and unloading the IPython extension (`%load_ext govern`)."""

from __future__ import annotations

from typing import Any

from govern.errors import GovernError
from govern.notebook import session
from govern.notebook.deps import require
from govern.notebook.magics import GovernMagic

MAGIC = "govern"


def load(ipython: Any) -> None:
    """Add `%govern`, start the embedded gateway (once) and show its status."""
    require("IPython")
    require("ipywidgets")
    magic = GovernMagic(ipython)
    ipython.register_magic_function(magic, magic_kind="line", magic_name=MAGIC)
    try:
        session.start()
    except GovernError as exc:
        print(f"govern: the embedded gateway did not start: {exc.message}")
        return
    except Exception as exc:  # a port, a data directory: say so, no traceback
        print(f"govern: the embedded gateway did not start: {exc}")
        return
    magic("status")


def unload(ipython: Any) -> None:
    """Stop the embedded gateway (its request log flushed) and remove `%govern`."""
    stopped = session.stop()
    ipython.magics_manager.magics["line"].pop(MAGIC, None)
    if stopped:
        print("govern: stopped the embedded gateway (request log flushed)")
