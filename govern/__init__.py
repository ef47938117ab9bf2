"""govern: an LLM gateway for data-science teams.

One OpenAI-compatible API in front of OpenAI, Anthropic, AWS Bedrock and a simulated
provider; every call priced, budgets that hold, a cache that does not pay twice.
"""

from typing import Any

from govern.config import GovernConfig, load_config
from govern.gateway import Gateway
from govern.notebook.session import async_client, client, connect

__version__ = "0.1.0"
__all__ = [
    "Gateway",
    "GovernConfig",
    "__version__",
    "async_client",
    "client",
    "connect",
    "load_config",
    "load_ipython_extension",
    "unload_ipython_extension",
]


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext govern`: the embedded gateway in this kernel (see `govern.notebook`)."""
    from govern.notebook import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """`%unload_ext govern`: stop the embedded gateway, its request log flushed."""
    from govern.notebook import unload_ipython_extension as unload

    unload(ipython)
