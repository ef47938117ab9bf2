"""The gateway a notebook talks to: the embedded one (started on demand, in a background
thread of this process) or a remote one chosen with `connect`.

Needs no notebook packages: `govern.client()` works from any Python process.
"""

from __future__ import annotations

import atexit
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govern.config import GovernConfig, find_config, load_config

if TYPE_CHECKING:
    import openai

    from govern.gateway import Gateway
    from govern.server.embedded import EmbeddedServer

LOCAL_KEY = "govern-local"
"""The API key sent when none is given (the official clients insist on one)."""


@dataclass
class Embedded:
    """The gateway served from a background thread of this process."""

    server: EmbeddedServer
    config_source: Path | None
    """The config file it was started from; None for the offline default."""
    admin_key: str | None = field(default=None, repr=False)
    """The management API's key: the config's, else one made up for this process (so
    the panels can read `/api/usage`); never shown."""

    @property
    def gateway(self) -> Gateway:
        """The running `Gateway`."""
        return self.server.gateway

    @property
    def url(self) -> str:
        """The gateway's base URL (`http://127.0.0.1:PORT`)."""
        return self.server.url

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (`.../v1`)."""
        return f"{self.url}/v1"

    @property
    def data_dir(self) -> Path:
        """Where the request log (SQLite) and cache live."""
        return self.gateway.data_dir.resolve()

    def providers(self) -> list[str]:
        """Providers that can take calls."""
        return self.gateway.live_providers()

    def log_source(self) -> str | Path:
        """What `govern.logs.spend`/`requests` read: the PostgreSQL DSN or the data dir."""
        log = self.gateway.config.log
        if log.store == "postgres" and log.postgres_dsn:
            return log.postgres_dsn
        return self.data_dir

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every request logged so far is committed; False on timeout."""
        deadline = time.monotonic() + timeout
        # The writer lives on the server's loop; its backlog counter is safe to read here.
        while (writer := self.gateway.log) is not None and writer.backlog:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True


@dataclass
class Remote:
    """A gateway running elsewhere, reached over HTTP."""

    url: str
    key: str | None = None
    """The virtual key sent by `client()` unless another is given."""
    admin_key: str | None = field(default=None, repr=False)
    """The admin key for `/api/*` (spend, logs, usage)."""

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (`.../v1`)."""
        return f"{self.url}/v1"


Target = Embedded | Remote

_lock = threading.RLock()
_embedded: Embedded | None = None
_remote: Remote | None = None
_atexit_registered = False
_exported: dict[str, str | None] = {}
"""Variables `export_env` set, with the value each had before (None: unset)."""


def embedded() -> Embedded | None:
    """The running embedded gateway, if any."""
    return _embedded


def start(
    config: GovernConfig | str | os.PathLike[str] | None = None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
) -> Embedded:
    """Start the embedded gateway (config: as `python -m govern.serve` finds it) on a free
    port of 127.0.0.1; returns the running one if it is already up."""
    global _embedded
    with _lock:
        if _embedded is not None:
            return _embedded
        from govern.gateway import Gateway
        from govern.server.embedded import EmbeddedServer

        source = None
        if not isinstance(config, GovernConfig):
            source = find_config(config)
            with _user_environment():
                config = load_config(source)
        governance = config.governance
        if not governance.admin_key:
            # Only this process knows it: the API stays closed to everyone else.
            governance.admin_key = secrets.token_urlsafe(32)
        server = EmbeddedServer(Gateway(config, data_dir=data_dir), host="127.0.0.1", port=0)
        server.start()
        _embedded = Embedded(server=server, config_source=source, admin_key=governance.admin_key)
        _register_atexit()
        return _embedded


def stop() -> bool:
    """Stop the embedded gateway (open requests finish, the request log is flushed);
    False if none was running."""
    global _embedded
    with _lock:
        running, _embedded = _embedded, None
    if running is None:
        return False
    running.server.stop()
    return True


def connect(url: str, *, key: str | None = None, admin_key: str | None = None) -> Remote:
    """Talk to the gateway at `url` from now on (clients, `%govern`, panels)."""
    global _remote
    remote = Remote(url=url.rstrip("/").removesuffix("/v1"), key=key, admin_key=admin_key)
    with _lock:
        _remote = remote
    return remote


def disconnect() -> None:
    """Forget the remote gateway: clients go to the embedded one again."""
    global _remote
    with _lock:
        _remote = None


def current() -> Target | None:
    """The remote gateway if one is connected, else the embedded one if running."""
    return _remote or _embedded


def target() -> Target:
    """The gateway clients should call: `current()`, starting the embedded one if needed."""
    return current() or start()


def _client_args(key: str | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    chosen = target()
    default = chosen.key if isinstance(chosen, Remote) else None
    return {"base_url": chosen.base_url, "api_key": key or default or LOCAL_KEY, **kwargs}


def client(key: str | None = None, **kwargs: Any) -> openai.OpenAI:
    """An official `openai.OpenAI` client for the gateway (`key`: a virtual key)."""
    import openai

    return openai.OpenAI(**_client_args(key, kwargs))


def async_client(key: str | None = None, **kwargs: Any) -> openai.AsyncOpenAI:
    """An official `openai.AsyncOpenAI` client for the gateway (`key`: a virtual key)."""
    import openai

    return openai.AsyncOpenAI(**_client_args(key, kwargs))


def export_env(key: str | None = None) -> dict[str, str]:
    """Set `OPENAI_BASE_URL` and `OPENAI_API_KEY` for libraries that read them; returns them."""
    args = _client_args(key, {})
    values = {"OPENAI_BASE_URL": str(args["base_url"]), "OPENAI_API_KEY": str(args["api_key"])}
    with _lock:
        for name in values:
            _exported.setdefault(name, os.environ.get(name))
        os.environ.update(values)
    return values


@contextmanager
def _user_environment() -> Iterator[None]:
    """The environment as the user set it, while a config is read: the exported
    `OPENAI_API_KEY` (a gateway key) must not pass for a real OpenAI key."""
    with _lock:
        ours = {name: os.environ.get(name) for name in _exported}
        _set_all(_exported)
        try:
            yield
        finally:
            _set_all(ours)


def _set_all(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _register_atexit() -> None:
    global _atexit_registered
    if _atexit_registered:
        return
    _atexit_registered = True
    # Before the interpreter's thread pools shut down (plain atexit hooks run after
    # them): the request log's final flush writes from a worker thread.
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        try:
            register(stop)
            return
        except RuntimeError:  # already shutting down
            pass
    atexit.register(stop)
