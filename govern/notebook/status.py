"""What `%govern status` shows: where the gateway is, its providers and its data."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import msgspec

from govern.notebook.deps import require
from govern.notebook.session import Embedded, Remote, Target


@dataclass(frozen=True)
class Status:
    """A gateway's whereabouts, as text or HTML."""

    state: str
    """`embedded`, `remote` or `stopped`."""
    url: str | None = None
    providers: list[str] = field(default_factory=list)
    data_dir: str | None = None
    config: str | None = None
    note: str | None = None

    def rows(self) -> list[tuple[str, str]]:
        """Label and value pairs, in display order."""
        if self.state == "stopped":
            return [("gateway", "stopped (%govern start, or govern.client() starts it)")]
        rows = [
            ("gateway", f"{self.state} at {self.url}"),
            ("OpenAI base URL", f"{self.url}/v1"),
            ("providers", ", ".join(self.providers) or "none"),
        ]
        if self.data_dir is not None:
            rows.append(("data directory", self.data_dir))
        if self.config is not None:
            rows.append(("config", self.config))
        if self.note is not None:
            rows.append(("note", self.note))
        return rows

    def text(self) -> str:
        """Plain text, one `label: value` per line."""
        return "\n".join(f"{label}: {value}" for label, value in self.rows())

    def html(self) -> str:
        """A small HTML table."""
        cells = "".join(
            f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(label)}</th>"
            f"<td style='text-align:left'><code>{html.escape(value)}</code></td></tr>"
            for label, value in self.rows()
        )
        return f"<div><b>govern</b><table>{cells}</table></div>"


class _Health(msgspec.Struct):
    providers: list[str] = []


def status_of(chosen: Target | None) -> Status:
    """The status of a gateway (a remote one is asked at `/health`)."""
    if chosen is None:
        return Status(state="stopped")
    if isinstance(chosen, Embedded):
        return Status(
            state="embedded",
            url=chosen.url,
            providers=chosen.providers(),
            data_dir=str(chosen.data_dir),
            config=str(chosen.config_source or "offline default"),
        )
    return _remote_status(chosen)


def _remote_status(remote: Remote) -> Status:
    import httpx

    try:
        response = httpx.get(f"{remote.url}/health", timeout=5.0)
        health = msgspec.json.decode(response.content, type=_Health)
    except (httpx.HTTPError, msgspec.DecodeError) as exc:
        return Status(state="remote", url=remote.url, note=f"unreachable: {exc}")
    return Status(state="remote", url=remote.url, providers=health.providers)


def status_widget(status: Status) -> Any:
    """The status as an `ipywidgets.HTML`."""
    widgets = require("ipywidgets")
    return widgets.HTML(value=status.html())
