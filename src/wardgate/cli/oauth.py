"""OAuth 2.0 client side of `wardgate login`: discovery, device flow, refresh.

Built on authlib's OAuth2Session (requests): RFC 8628 device authorization —
request a device code, show the user where to approve it, poll the token
endpoint, honouring `authorization_pending` and `slow_down` — and the
refresh-token grant for a cached login that has expired.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE

TIMEOUT = 10.0
Sleep = Callable[[float], None]


class LoginError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Endpoints:
    issuer: str
    token: str
    device_authorization: str


@dataclass(frozen=True, slots=True)
class DeviceCode:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: float
    interval: float


def discover(issuer: str) -> Endpoints:
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise LoginError(f"cannot read {url}: {exc}") from None
    token, device = document.get("token_endpoint"), document.get("device_authorization_endpoint")
    if not token or not device:
        raise LoginError(f"{issuer} does not offer the device authorization flow")
    return Endpoints(issuer, str(token), str(device))


def request_device_code(session: OAuth2Session, endpoints: Endpoints, scope: str) -> DeviceCode:
    data = {"client_id": session.client_id, "scope": scope}
    try:
        response = session.post(
            endpoints.device_authorization, data=data, timeout=TIMEOUT, withhold_token=True
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise LoginError(f"device authorization failed: {exc}") from None
    return DeviceCode(
        device_code=body["device_code"],
        user_code=body["user_code"],
        verification_uri=body.get("verification_uri") or body.get("verification_url", ""),
        verification_uri_complete=body.get("verification_uri_complete", ""),
        expires_in=float(body.get("expires_in") or 600),
        interval=float(body.get("interval", 5)),
    )


def poll_for_token(
    session: OAuth2Session,
    endpoints: Endpoints,
    code: DeviceCode,
    sleep: Sleep = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Poll until the user approves (RFC 8628 section 3.4/3.5)."""
    interval, deadline = code.interval, clock() + code.expires_in
    while clock() < deadline:
        sleep(interval)
        try:
            token: dict[str, Any] = session.fetch_token(
                endpoints.token, grant_type=DEVICE_CODE_GRANT_TYPE, device_code=code.device_code
            )
            return token
        except OAuthError as exc:
            if exc.error == "slow_down":
                interval += 5
            elif exc.error != "authorization_pending":
                raise LoginError(f"login failed: {exc.error}") from None
    raise LoginError("the device code expired before it was approved")


def refresh(token_endpoint: str, client_id: str, refresh_token: str) -> dict[str, Any]:
    session = OAuth2Session(client_id=client_id, timeout=TIMEOUT)
    try:
        token: dict[str, Any] = session.refresh_token(token_endpoint, refresh_token=refresh_token)
        return token
    except (OAuthError, requests.RequestException) as exc:
        raise LoginError(f"refreshing the cached login failed: {exc}") from None
