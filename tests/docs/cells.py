"""Tutorial pages written as notebook cells: their Python blocks run in a real IPython
shell, so `%load_ext govern` and `%govern ...` work, and a block shows the value of its
last expression as Jupyter would (without the `Out[n]:` prompt), so an `output` block
after it can check it.

A page is run this way when one of its Python blocks has a line magic (a line starting
with `%`). The shell is not a Jupyter kernel: widgets show their text form and
`%govern status` prints its table as text, which is what the pages' output blocks show.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from typing import Any

from tests.docs.blocks import Block

LINE_MAGIC = re.compile(r"^[ \t]*%[A-Za-z]", re.MULTILINE)


def is_notebook_page(blocks: list[Block]) -> bool:
    """Whether a page's Python blocks are notebook cells (one of them uses a magic)."""
    return any(
        b.lang == "python" and not b.illustrative and LINE_MAGIC.search(b.code) for b in blocks
    )


def notebook_shell(namespace: dict[str, Any]) -> Any:
    """A fresh IPython shell whose user namespace is the page's; no output cache, so a
    displayed value prints without its `Out[n]:` prompt."""
    from IPython.core.interactiveshell import InteractiveShell

    return InteractiveShell(user_ns=namespace, cache_size=0)


def run_cell(shell: Any, code: str, where: str) -> str:
    """Run one cell; returns what it printed and displayed. A cell that raises fails the
    test with IPython's traceback."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = shell.run_cell(code, store_history=False)
    error = result.error_before_exec or result.error_in_exec
    if error is not None:
        raise AssertionError(f"{where}: the cell raised {error!r}\n{out.getvalue()}") from error
    return out.getvalue()


def close_notebook() -> None:
    """Stop the embedded gateway a page started and undo `%govern env`'s exports."""
    from govern.notebook import session

    session.stop()
    session.disconnect()
    for name, previous in session._exported.items():
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous
    session._exported.clear()
