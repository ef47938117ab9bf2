"""`refresh`: genai-prices' updater, pointed at a local server, replaces the prices."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from decimal import Decimal

import pytest
from genai_prices import data_snapshot

from govern.catalog import Catalog
from govern.config import PricingConfig

DATA = b"""[{"id": "openai", "name": "OpenAI", "api_pattern": "https://api\\\\.openai\\\\.com",
  "models": [{"id": "gpt-4o-mini", "match": {"equals": "gpt-4o-mini"},
              "prices": {"input_mtok": 1, "output_mtok": 2}}]}]"""


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(DATA)))
        self.end_headers()
        self.wfile.write(DATA)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def prices_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/data.json"
    server.shutdown()
    data_snapshot.set_custom_snapshot(None)


def test_refresh_is_off_by_default() -> None:
    catalog = Catalog()
    catalog.start()
    assert not catalog.wait_refreshed(timeout=0)


def test_catalog_follows_refreshed_prices(prices_url: str) -> None:
    catalog = Catalog(PricingConfig(refresh=True))
    before = catalog.price("openai", "openai", "gpt-4o-mini")
    catalog.start(url=prices_url)
    try:
        assert catalog.wait_refreshed(timeout=10)
        after = catalog.price("openai", "openai", "gpt-4o-mini")
    finally:
        catalog.close()
    assert before is not None and after is not None
    assert (before.price.input, after.price.input) == (Decimal("0.15"), Decimal(1))
