"""KakaoWork as an apprise notification plugin: `kakaowork://APP_KEY@CONVERSATION_ID`.

apprise has no KakaoWork service; importing this module registers the `kakaowork://` scheme
(`apprise.decorators.notify`), so a KakaoWork channel is one more URL in `alerts.urls`. A send
posts the title and body as one text to KakaoWork's `messages.send` with the app key as Bearer
token. apprise reports only success or failure; why a send failed (`HTTP 401 invalid_token`,
`ConnectionError`) is collected by `failures()` around the apprise call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import unquote

import apprise
import requests

SEND_URL = "https://api.kakaowork.com/v1/messages.send"
TIMEOUT_SECONDS = 10.0

# apprise runs a send in a copy of the caller's context, so the list set here is the one filled
_failures: ContextVar[list[str] | None] = ContextVar("kakaowork_failures", default=None)


@contextmanager
def failures() -> Iterator[list[str]]:
    """Why each KakaoWork send made inside the block failed, in order."""
    found: list[str] = []
    token = _failures.set(found)
    try:
        yield found
    finally:
        _failures.reset(token)


def _failed(detail: str) -> bool:
    found = _failures.get()
    if found is not None:
        found.append(detail)
    return False


@apprise.decorators.notify(on="kakaowork", name="KakaoWork")
def _send(
    body: str, title: str, notify_type: str, meta: dict[str, Any], *args: Any, **kwargs: Any
) -> bool:
    app_key = unquote(meta.get("user") or "")
    conversation_id = unquote(meta.get("host") or "")
    if not app_key or not conversation_id:
        return _failed("the URL needs both parts: kakaowork://APP_KEY@CONVERSATION_ID")
    try:
        response = requests.post(
            SEND_URL,
            headers={"Authorization": f"Bearer {app_key}"},
            json={"conversation_id": conversation_id, "text": f"{title}\n\n{body}"},
            timeout=TIMEOUT_SECONDS,
        )
    except requests.RequestException as e:
        return _failed(type(e).__name__)
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    if response.status_code == 200 and isinstance(payload, dict) and payload.get("success"):
        return True
    error = payload.get("error") if isinstance(payload, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return _failed(f"HTTP {response.status_code}" + (f" {code}" if code else ""))
