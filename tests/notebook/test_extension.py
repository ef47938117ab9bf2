"""`%load_ext govern` in an IPython shell: start, load twice, reload, unload."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import govern
from govern.logs import requests
from govern.notebook import session
from tests.notebook.conftest import chat, write_slow_log_config


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    """The process's IPython shell, with the extension unloaded afterwards."""
    ip = InteractiveShell.instance()
    yield ip
    if "govern" in ip.extension_manager.loaded:
        ip.run_line_magic("unload_ext", "govern")


def test_load_starts_the_gateway_and_shows_its_status(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_line_magic("load_ext", "govern")
    running = session.embedded()
    assert running is not None
    out = capsys.readouterr().out
    assert f"gateway: embedded at {running.url}" in out
    assert "providers: sim" in out
    assert f"data directory: {running.data_dir}" in out
    assert httpx.get(f"{running.url}/health").json()["providers"] == ["sim"]


def test_loading_twice_does_not_start_a_second_gateway(shell: InteractiveShell) -> None:
    shell.run_line_magic("load_ext", "govern")
    first = session.embedded()
    govern.load_ipython_extension(shell)  # as a second %load_ext in another cell would
    shell.run_line_magic("load_ext", "govern")
    assert session.embedded() is first


def test_unload_stops_the_gateway_and_removes_the_magic(shell: InteractiveShell) -> None:
    shell.run_line_magic("load_ext", "govern")
    running = session.embedded()
    assert running is not None
    shell.run_line_magic("unload_ext", "govern")
    assert session.embedded() is None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{running.url}/health")
    with pytest.raises(UsageError):
        shell.run_line_magic("govern", "status")


def test_unload_flushes_rows_written_just_before(
    shell: InteractiveShell, clean_session: Path
) -> None:
    write_slow_log_config(clean_session.parent)
    shell.run_line_magic("load_ext", "govern")
    for _ in range(4):
        chat()
    running = session.embedded()
    assert running is not None and running.gateway.log is not None
    assert running.gateway.log.backlog == 4  # nothing written yet
    shell.run_line_magic("unload_ext", "govern")
    assert len(requests(clean_session)) == 4


def test_reload_replaces_the_gateway(shell: InteractiveShell) -> None:
    shell.run_line_magic("load_ext", "govern")
    first = session.embedded()
    assert first is not None
    shell.run_line_magic("reload_ext", "govern")
    second = session.embedded()
    assert second is not None and second is not first
    assert httpx.get(f"{second.url}/health").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{first.url}/health")


def test_a_bad_config_is_reported_in_one_line(
    shell: InteractiveShell, clean_session: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (clean_session.parent / "govern.json").write_text('{"providers": {"sim": {"timeout": -1}}}')
    shell.run_line_magic("load_ext", "govern")
    captured = capsys.readouterr()
    assert "govern: the embedded gateway did not start: providers.sim.timeout" in captured.out
    assert "Traceback" not in captured.out + captured.err
    assert session.embedded() is None


@pytest.mark.slow
def test_kernel_shutdown_stops_the_gateway_with_its_log_flushed(clean_session: Path) -> None:
    from jupyter_client.manager import start_new_kernel

    write_slow_log_config(clean_session.parent)
    manager, kernel = start_new_kernel(
        kernel_name="python3", cwd=str(clean_session.parent), env=dict(os.environ)
    )
    try:
        code = (
            "%load_ext govern\n"
            "import govern\n"
            "client = govern.client()\n"
            "for _ in range(3):\n"
            "    client.chat.completions.create(model='sim/gpt-4o-mini', max_tokens=4,\n"
            "        messages=[{'role': 'user', 'content': 'hi'}])\n"
        )
        reply = kernel.execute_interactive(code, timeout=60, output_hook=lambda msg: None)
        assert reply["content"]["status"] == "ok"
    finally:
        kernel.stop_channels()
        manager.shutdown_kernel(now=False)  # a clean shutdown, as Jupyter's own
    assert len(requests(clean_session)) == 3


def test_a_missing_notebook_package_names_the_extra() -> None:
    from govern.notebook.deps import require

    with pytest.raises(ImportError, match=r"pip install 'govern\[notebook\]'"):
        require("ipywidgets_that_is_not_installed")
