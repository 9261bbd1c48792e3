"""What the multi-service examples share: talk to services and print a transcript.

Services are started with :func:`examples._http.service` (re-exported here).
:class:`Transcript` sends requests with the standard library and prints each
one with its status; :func:`expect` turns a wrong status into a non-zero exit.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from typing import Any

from examples._http import free_ports, gunicorn, send, service, uvicorn

__all__ = ["Transcript", "check", "expect", "free_ports", "gunicorn", "service", "uvicorn"]


def kid_of(token: str) -> str:
    """The ``kid`` of a token's header (read for display only, never trusted)."""
    head = token.split(".", 1)[0]
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    return str(header.get("kid"))


def _cut(name: str, value: Any) -> Any:
    if isinstance(value, str) and (name.endswith("_token") or name in ("x", "y", "n")):
        return f"{value[:12]}…"
    return _short(value)


def _short(value: Any) -> Any:
    """Long tokens and key coordinates cut short for the transcript."""
    if isinstance(value, dict):
        return {k: _cut(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_short(v) for v in value]
    return value


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: Message


class Transcript:
    """Sends requests to named services and prints each one with its status."""

    def __init__(self, services: Mapping[str, str]) -> None:
        self.services = dict(services)
        self.step = 0

    def call(
        self, label: str, name: str, method: str, path: str, *, token: str | None = None,
        body: Mapping[str, Any] | None = None, show: Sequence[str] | None = None,
    ) -> Answer:
        """One request; ``show`` limits the printed body to those members."""
        self.step += 1
        status, payload, headers = send(self.services[name] + path, method, token=token,
                                        body=body)
        shown = payload if show is None else {k: payload[k] for k in show if k in payload}
        auth = f"  (Bearer, kid {kid_of(token)})" if token else ""
        print(f"\n{self.step:>2}. {label}")
        print(f"    {method} {name}{path}{auth}")
        print(f"    -> {status}  {json.dumps(_short(shown), ensure_ascii=False)}")
        challenge = headers.get("WWW-Authenticate")
        if challenge and status >= 400:
            print(f"       WWW-Authenticate: {challenge}")
        return Answer(status, payload, headers)

    def note(self, text: str) -> None:
        print(f"    {text}")


def expect(answer: Answer | int, wanted: int, what: str) -> None:
    """Stop the example (exit status 1) when a step answered unexpectedly."""
    status = answer if isinstance(answer, int) else answer.status
    if status != wanted:
        raise SystemExit(f"\nFAILED: {what} answered {status}, expected {wanted}")


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"\nFAILED: {what}")
