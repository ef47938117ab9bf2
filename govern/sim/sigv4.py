"""SigV4 verification for the simulated Bedrock upstream, as AWS does it.

The canonical request is rebuilt from the request as received (the raw path, encoded once
more as non-S3 services do; the headers the client listed in `SignedHeaders`; the body's
SHA-256) and the signature recomputed with botocore from the secret the sim knows for the
access key. Failures carry AWS's error types and message wording.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_CLOCK_SKEW = timedelta(minutes=5)
_TIMESTAMP = "%Y%m%dT%H%M%SZ"


class HeaderLookup(Protocol):
    """Case-insensitive headers with repeated values (aiohttp's `CIMultiDictProxy`)."""

    def get(self, key: str, /) -> str | None:
        """The first value of a header."""
        ...

    def getall(self, key: str, default: list[str], /) -> list[str]:
        """Every value of a header."""
        ...


@dataclass(frozen=True, slots=True)
class AuthFailure:
    """Why a request is rejected: the HTTP status, AWS error type and message."""

    status: int
    error_type: str
    message: str


@dataclass(frozen=True, slots=True)
class _Authorization:
    access_key: str
    date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str


def access_key_id(headers: HeaderLookup) -> str | None:
    """The access key id a request claims, if its `Authorization` names one."""
    parsed = _parse(headers.get("Authorization") or "")
    return parsed.access_key if isinstance(parsed, _Authorization) else None


def verify(
    *,
    method: str,
    raw_path: str,
    headers: HeaderLookup,
    body: bytes,
    credentials: Mapping[str, str],
    service: str,
    now: datetime | None = None,
) -> AuthFailure | None:
    """None if the request is correctly signed for `service`, else why not."""
    authorization = headers.get("Authorization")
    if not authorization:
        return AuthFailure(
            403, "MissingAuthenticationTokenException", "Missing Authentication Token"
        )
    parsed = _parse(authorization)
    if isinstance(parsed, AuthFailure):
        return parsed
    secret = credentials.get(parsed.access_key)
    if secret is None:
        return AuthFailure(
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )
    if parsed.service != service:
        return _bad_signature(f"Credential should be scoped to correct service: '{service}'. ")
    if "host" not in parsed.signed_headers:
        return _bad_signature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        )
    amz_date = headers.get("X-Amz-Date")
    if not amz_date:
        return AuthFailure(
            403,
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    try:
        signed_at = datetime.strptime(amz_date, _TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        return AuthFailure(
            403,
            "IncompleteSignatureException",
            f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'.",
        )
    if parsed.date != amz_date[:8]:
        return _bad_signature(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{parsed.date}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    current = now or datetime.now(UTC)
    if signed_at < current - MAX_CLOCK_SKEW:
        return _bad_signature(
            f"Signature expired: {amz_date} is now earlier than "
            f"{(current - MAX_CLOCK_SKEW).strftime(_TIMESTAMP)} "
            f"({current.strftime(_TIMESTAMP)} - 5 min.)"
        )
    if signed_at > current + MAX_CLOCK_SKEW:
        return _bad_signature(
            f"Signature not yet current: {amz_date} is still later than "
            f"{(current + MAX_CLOCK_SKEW).strftime(_TIMESTAMP)} "
            f"({current.strftime(_TIMESTAMP)} + 5 min.)"
        )
    payload_hash = hashlib.sha256(body).hexdigest()
    declared = headers.get("X-Amz-Content-SHA256")
    if declared is not None and declared != payload_hash:
        return _bad_signature(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        )
    canonical = canonical_request(method, raw_path, headers, parsed.signed_headers, payload_hash)
    string_to_sign, expected = _signature(canonical, amz_date, parsed, secret)
    if hmac.compare_digest(expected, parsed.signature):
        return None
    return _bad_signature(
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. Consult the service "
        "documentation for details.\n\nThe Canonical String for this request should have "
        f"been\n'{canonical}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n"
    )


def canonical_request(
    method: str, raw_path: str, headers: HeaderLookup, signed: list[str], payload_hash: str
) -> str:
    """The SigV4 canonical request of a request as received."""
    from botocore.utils import normalize_url_path

    path, _, query = raw_path.partition("?")
    pairs = sorted(tuple(p.partition("=")[::2]) for p in query.split("&") if p)
    lines = [
        method.upper(),
        quote(normalize_url_path(path), safe="/~"),
        "&".join(f"{k}={v}" for k, v in pairs),
    ]
    lines.extend(
        f"{name}:{','.join(' '.join(v.split()) for v in headers.getall(name, []))}"
        for name in signed
    )
    lines += ["", ";".join(signed), payload_hash]
    return "\n".join(lines)


def _signature(canonical: str, amz_date: str, auth: _Authorization, secret: str) -> tuple[str, str]:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import ReadOnlyCredentials

    signer = SigV4Auth(
        ReadOnlyCredentials(auth.access_key, secret, None), auth.service, auth.region
    )
    request = AWSRequest(method="POST", url="http://sim/")
    request.context["timestamp"] = amz_date
    string_to_sign: str = signer.string_to_sign(request, canonical)
    signature: str = signer.signature(string_to_sign, request)
    return string_to_sign, signature


def _parse(header: str) -> _Authorization | AuthFailure:
    algorithm, _, rest = header.partition(" ")
    if algorithm != ALGORITHM:
        return AuthFailure(
            403,
            "IncompleteSignatureException",
            f"Authorization header requires '{ALGORITHM}' as the algorithm.",
        )
    fields: dict[str, str] = {}
    for item in rest.split(","):
        name, _, value = item.strip().partition("=")
        fields[name] = value
    missing = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not fields.get(name)
    ]
    if missing:
        return AuthFailure(403, "IncompleteSignatureException", " ".join(missing))
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        return AuthFailure(
            403, "IncompleteSignatureException", "Credential should be scoped to a valid region. "
        )
    return _Authorization(
        access_key=scope[0],
        date=scope[1],
        region=scope[2],
        service=scope[3],
        signed_headers=fields["SignedHeaders"].split(";"),
        signature=fields["Signature"],
    )


def _bad_signature(message: str) -> AuthFailure:
    return AuthFailure(403, "InvalidSignatureException", message)
