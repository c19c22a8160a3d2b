"""SMART Backend Services: a signed JWT client assertion exchanged for an access token.

Every certified EHR authorizes its Bulk Data API this way (OAuth 2.0 client credentials with
``private_key_jwt``, RS384 or ES384). The assertion is short-lived and single-use (``jti``); the
token is cached until shortly before it expires and dropped when a server says it is no longer
valid. Neither the private key nor a token is ever put in a log line or an error message.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jwt
import requests

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_SECONDS = 300  # the specification's upper bound
REFRESH_MARGIN_SECONDS = 30


class TokenError(Exception):
    """The token endpoint refused the client; the message names why, never a secret."""


@dataclass
class AccessToken:
    """A bearer token and the moment it stops being usable."""

    value: str
    expires_at: float

    def is_fresh(self, now: float) -> bool:
        """Whether the token is still good for a request started ``now``."""
        return now < self.expires_at - REFRESH_MARGIN_SECONDS


def read_scopes(resource_types: Sequence[str], style: str = "v2") -> str:
    """Return read-only system scopes for exactly the resource types the warehouse loads.

    SMART v2 spells read-and-search ``.rs``; servers still on v1 take ``.read``.
    """
    suffix = {"v2": "rs", "v1": "read"}[style]
    return " ".join(f"system/{resource_type}.{suffix}" for resource_type in resource_types)


def discover_token_url(session: requests.Session, base_url: str, timeout: float) -> str:
    """Read the token endpoint from the server's ``.well-known/smart-configuration``."""
    url = f"{base_url.rstrip('/')}/.well-known/smart-configuration"
    try:
        response = session.get(url, headers={"Accept": "application/json"}, timeout=timeout)
    except requests.RequestException as error:
        raise TokenError(f"the EHR's SMART configuration could not be read: "
                         f"{type(error).__name__}") from None
    if response.status_code != 200:
        raise TokenError(f"the EHR's SMART configuration answered HTTP {response.status_code}; "
                         "set the token URL in the Bulk Data settings")
    try:
        token_url = response.json()["token_endpoint"]
    except (ValueError, KeyError, TypeError):
        raise TokenError("the EHR's SMART configuration names no token_endpoint; set the "
                         "token URL in the Bulk Data settings") from None
    return str(token_url)


class SmartBackendAuth:
    """Hands out a valid bearer token, asking the token endpoint only when needed."""

    def __init__(self, session: requests.Session, token_url: str, client_id: str,
                 private_key_pem: bytes, scope: str, algorithm: str = "RS384",
                 key_id: str | None = None, timeout: float = 30.0,
                 clock: Callable[[], float] = time.time) -> None:
        if algorithm not in ("RS384", "ES384"):
            raise TokenError(f"SMART Backend Services signs with RS384 or ES384, not "
                             f"{algorithm[:10]}")
        self._session = session
        self.token_url = token_url
        self.client_id = client_id
        self._key = private_key_pem
        self.scope = scope
        self._algorithm = algorithm
        self._key_id = key_id
        self._timeout = timeout
        self._clock = clock
        self._token: AccessToken | None = None
        self.requests_made = 0

    def assertion(self) -> str:
        """Return a fresh signed client assertion (iss = sub = client id, aud = token URL)."""
        now = int(self._clock())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": self.token_url,
                  "exp": now + ASSERTION_LIFETIME_SECONDS, "iat": now, "jti": uuid.uuid4().hex}
        headers = {"typ": "JWT", **({"kid": self._key_id} if self._key_id else {})}
        try:
            return jwt.encode(claims, self._key, algorithm=self._algorithm, headers=headers)
        except (ValueError, TypeError, jwt.PyJWTError) as error:
            raise TokenError(f"the private key cannot sign {self._algorithm}: "
                             f"{type(error).__name__}") from None

    def token(self) -> str:
        """Return a bearer token valid for at least the refresh margin."""
        if self._token is None or not self._token.is_fresh(self._clock()):
            self._token = self._request_token()
        return self._token.value

    def invalidate(self) -> None:
        """Forget the token: the server said it expired or was revoked."""
        self._token = None

    def _request_token(self) -> AccessToken:
        form = {"grant_type": "client_credentials", "scope": self.scope,
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": self.assertion()}
        self.requests_made += 1
        try:
            response = self._session.post(self.token_url, data=form, timeout=self._timeout,
                                          headers={"Accept": "application/json"})
        except requests.RequestException as error:
            raise TokenError(f"the token endpoint could not be reached: "
                             f"{type(error).__name__}") from None
        body = _json_or_empty(response)
        if response.status_code != 200 or not isinstance(body.get("access_token"), str):
            # OAuth errors are codes from a closed list plus a description of the client's
            # mistake; both are bounded, neither carries a secret.
            code = str(body.get("error", "no error code"))[:40]
            description = str(body.get("error_description", ""))[:160]
            raise TokenError(
                f"the token endpoint refused the client (HTTP {response.status_code}, {code}"
                f"{': ' + description if description else ''}); check the client id, that "
                "the EHR holds this key's public half (JWKS), and the scopes asked for")
        lifetime = float(body.get("expires_in", 300))
        return AccessToken(body["access_token"], self._clock() + lifetime)


def _json_or_empty(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
