"""SigV4 signing for the `bedrock` provider: botocore (the `[bedrock]` extra, imported when
a provider is built), one signer per key, and the default AWS credential chain.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from govern.config import ProviderKey
from govern.errors import ConfigError

INSTALL_HINT = "pip install 'govern[bedrock]'"


def botocore_classes() -> tuple[Any, Any, Any]:
    """botocore's signer, request and credentials classes, or ConfigError naming the extra."""
    try:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
    except ImportError:
        raise ConfigError(
            f"the bedrock provider needs botocore and boto3: {INSTALL_HINT}"
        ) from None
    auth_log = logging.getLogger("botocore.auth")
    if auth_log.level == logging.NOTSET:
        # botocore logs each canonical request at DEBUG, session token included; keep
        # secrets out of the gateway's logs unless someone asked for that logger by name.
        auth_log.setLevel(logging.INFO)
    return SigV4Auth, AWSRequest, Credentials


class KeySigner:
    """Signs requests with one key's credentials in its region."""

    def __init__(self, key: ProviderKey, region: str, credentials: Any):
        self.key_name = key.name
        self.region = region
        self._credentials = credentials
        self._sigv4, self._request_class, _ = botocore_classes()

    async def frozen(self) -> Any:
        """A consistent (access key, secret, token) snapshot, refreshed if due."""
        refresh_needed = getattr(self._credentials, "refresh_needed", None)
        if refresh_needed is not None and refresh_needed():
            # Refreshing may call STS, SSO or the instance metadata service: not on the loop.
            return await asyncio.to_thread(self._credentials.get_frozen_credentials)
        return self._credentials.get_frozen_credentials()

    async def sign(
        self, url: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[dict[str, str], list[str]]:
        """The headers to send (with `Authorization`), and the secrets to keep out of text."""
        creds = await self.frozen()
        request = self._request_class(method="POST", url=url, data=body, headers=dict(headers))
        self._sigv4(creds, "bedrock", self.region).add_auth(request)
        secrets = [s for s in (creds.secret_key, creds.token) if s]
        return dict(request.headers.items()), secrets


def default_chain_credentials() -> Any:
    """Credentials from the default AWS chain (boto3's session, else botocore's)."""
    try:
        import boto3

        return boto3.session.Session().get_credentials()
    except ImportError:
        import botocore.session

        return botocore.session.get_session().get_credentials()
