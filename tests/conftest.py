"""Settings every test shares."""

from __future__ import annotations

import pytest
from apprise.manager_plugins import NotificationManager


@pytest.fixture(autouse=True, scope="session")
def _apprise_without_throttle() -> None:
    """apprise waits between two messages to one service (`request_rate_per_sec`: Slack 1.2 s,
    5.5 s for most services); tests send many, to `responses`, so they do not wait."""
    for plugin in NotificationManager().plugins():
        plugin.request_rate_per_sec = 0
