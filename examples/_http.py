"""What the walkthroughs share: a free port, and one HTTP request with the standard library."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from email.message import Message
from typing import Any


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def send(
    url: str, method: str, *, token: str | None = None, body: Mapping[str, Any] | None = None,
    timeout: float = 10.0,
) -> tuple[int, dict[str, Any], Message]:
    """(status, JSON body as a dict, headers). A body that is not JSON comes back as
    ``{"text": ...}``, a JSON value that is not an object as ``{"json": ...}``."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - 127.0.0.1
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, raw, headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, headers = error.code, error.read(), error.headers
    try:
        payload = json.loads(raw) if raw else {}
    except ValueError:  # not JSON (a server error page): keep the text
        payload = {"text": raw.decode("utf-8", "replace")[:200]}
    if not isinstance(payload, dict):
        payload = {"json": payload}
    return status, payload, headers
