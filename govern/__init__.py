"""govern: an LLM gateway for data-science teams.

One OpenAI-compatible API in front of OpenAI, Anthropic, AWS Bedrock and a simulated
provider; every call priced, budgets that hold, a cache that does not pay twice.
"""

from govern.config import GovernConfig, load_config
from govern.gateway import Gateway

__version__ = "0.1.0"
__all__ = ["Gateway", "GovernConfig", "__version__", "load_config"]
