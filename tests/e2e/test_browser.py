"""The cookie-mode single-page app (``examples/spa/``) in a real headless Chromium.

The FastAPI example runs under uvicorn with ``JWT_COOKIES=1`` and
``JWT_COOKIE_SECURE=0`` (plain http on 127.0.0.1 only; production keeps the
cookies Secure behind https). Playwright drives the system's Chromium; it never
downloads a browser. No Chromium: the test is skipped, unless
``JWT_MIDDLEWARE_REQUIRE_BROWSER=1`` (CI), where that is a failure.

Cross-site websocket hijacking: a page of a second origin (another port on
127.0.0.1, served by a small server inside the test) opens the app's
websocket. Cookies ignore ports, so the browser sends the access cookie with
that handshake; the middleware must refuse it by its ``Origin`` (403 in the
server's log: 401 would mean no cookie was sent and prove nothing).
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from tests.e2e.servers import Server, free_port, run_server, uvicorn_argv

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("JWT_MIDDLEWARE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"JWT_MIDDLEWARE_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def chromium_path() -> str:
    for candidate in ("chromium", "chromium-browser"):
        found = shutil.which(candidate)
        if found:
            return found
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    _unavailable("no Chromium on this machine (apt-get install chromium)")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    env = {
        "JWT_ALGORITHMS": "HS256",
        "JWT_SECRET": secrets.token_urlsafe(48),
        "JWT_ISSUER": "https://auth.browser.test",
        "JWT_AUDIENCE": "browser-api",
        "JWT_STORE_URL": f"sqlite:///{tmp_path}/tokens.db",
        "JWT_COOKIES": "1",
        "JWT_COOKIE_SECURE": "0",  # plain http on 127.0.0.1: tests only
    }
    with run_server(uvicorn_argv("examples.fastapi_app:app"), env, port=free_port()) as srv:
        yield srv


@pytest.fixture
def page(server: Server) -> Iterator[Page]:
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, headless=True
            )
        except Exception as exc:  # a broken or incompatible Chromium
            _unavailable(f"Chromium at {executable} did not start: {exc}")
        context = browser.new_context(base_url=server.url)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        try:
            yield page
        finally:
            context.close()
            browser.close()


def status(page: Page, step: str) -> tuple[int, str]:
    """(HTTP status, shown text) of a step, once the page has shown it."""
    element = page.locator(f"#status-{step}[data-status]")
    element.wait_for()
    return int(element.get_attribute("data-status") or 0), element.inner_text()


def click(page: Page, button: str, step: str | None = None) -> tuple[int, str]:
    """Clear the step's status, click, and wait for the new one."""
    step = step or button
    page.evaluate(f"delete document.getElementById('status-{step}').dataset.status")
    page.click(f"#{button}")
    return status(page, step)


def cookie_values(page: Page) -> dict[str, dict[str, Any]]:
    return {c["name"]: dict(c) for c in page.context.cookies()}


def test_single_page_app_in_cookie_mode(page: Page) -> None:
    page.goto("/spa/")
    assert page.title().startswith("jwt_middleware")

    page.fill("#username", "alice")
    page.fill("#password", "wonderland-42")
    code, text = click(page, "login")
    assert code == 200, text
    assert "csrf_token" in text
    assert "access_token" not in text, "the login body carries no token in cookie mode"
    assert "refresh_token" not in text

    script_cookies = page.evaluate("document.cookie")
    assert "csrf_token=" in script_cookies
    assert "access_token" not in script_cookies, "HttpOnly: the script cannot read it"
    assert "refresh_token" not in script_cookies
    jar = cookie_values(page)
    assert jar["access_token"]["httpOnly"] is True
    assert jar["refresh_token"]["httpOnly"] is True
    assert jar["refresh_token"]["path"] == "/auth"
    assert jar["csrf_token"]["httpOnly"] is False
    assert {jar[n]["sameSite"] for n in jar} == {"Lax"}

    code, text = status(page, "me")  # the page calls /me right after logging in
    assert code == 200, text
    assert '"subject":"alice"' in text

    code, text = click(page, "echo")
    assert code == 200, text
    assert '"echo":{"message":"hello"}' in text

    code, text = click(page, "echo-no-csrf")
    assert code == 403, text
    assert "missing CSRF header X-CSRF-Token" in text
    raw = page.evaluate(
        """async () => {
            const r = await fetch('/api/echo', {method: 'POST', credentials: 'same-origin',
                headers: {'Content-Type': 'application/json'}, body: '{}'});
            return [r.status, await r.text()];
        }"""
    )
    assert raw[0] == 403
    assert "missing CSRF header X-CSRF-Token" in raw[1]

    before = jar["access_token"]["value"]
    code, text = click(page, "refresh")
    assert code == 200, text
    assert "access_token" not in text
    assert cookie_values(page)["access_token"]["value"] != before
    code, text = click(page, "me")
    assert code == 200, text
    code, text = click(page, "echo")
    assert code == 200, "the refreshed CSRF cookie is echoed"

    code, text = click(page, "logout")
    assert code == 200, text
    assert '"status":"logged out"' in text
    code, text = click(page, "me")
    assert code == 401, text
    assert "csrf_token" not in page.evaluate("document.cookie")
    assert "access_token" not in cookie_values(page)

    # The access token from before the refresh is dead too (its family is revoked).
    page.context.add_cookies(
        [{"name": "access_token", "value": before, "url": page.url.split("/spa")[0]}]
    )
    code, text = click(page, "me")
    assert code == 401, text


# --- cross-site websocket hijacking ---------------------------------------------------

# The page of the second origin: it opens the app's websocket the way an
# attacker's page would, and shows what happened where the test can read it.
OTHER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>another origin</title></head>
<body><dd id="status-ws">-</dd>
<script>
  const element = document.getElementById("status-ws");
  const socket = new WebSocket("%(ws_url)s");
  let opened = false;
  function show(status, text) {
    element.textContent = status + " " + text;
    element.dataset.status = String(status);
  }
  socket.onopen = () => { opened = true; socket.send("stolen?"); };
  socket.onmessage = (event) => { show(101, "frame " + event.data); socket.close(); };
  socket.onclose = (event) => { if (!opened) show(0, "refused, code " + event.code); };
</script></body></html>
"""


@pytest.fixture
def other_origin(server: Server) -> Iterator[str]:
    """A second origin, ``http://127.0.0.1:<another port>``, serving ``OTHER_PAGE``."""
    page_html = (OTHER_PAGE % {"ws_url": f"ws://127.0.0.1:{server.port}/ws"}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(page_html)))
            self.end_headers()
            self.wfile.write(page_html)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def handshakes(server: Server, count: int) -> list[str]:
    """The server's log lines for ``/ws`` handshakes, once ``count`` are there."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        lines = [ln for ln in server.log.read_text().splitlines() if '"WebSocket /ws"' in ln]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_websocket_from_another_origin_is_refused(
    page: Page, server: Server, other_origin: str
) -> None:
    page.goto("/spa/")
    page.fill("#username", "alice")
    page.fill("#password", "wonderland-42")
    code, text = click(page, "login")
    assert code == 200, text
    cookie = cookie_values(page)["access_token"]
    assert (cookie["domain"], cookie["sameSite"]) == ("127.0.0.1", "Lax")

    code, text = click(page, "ws")  # the app's own page: accepted, frames served
    assert code == 101, text
    assert '"frame":"hello"' in text
    assert handshakes(server, 1)[-1].endswith("[accepted]")

    page.goto(other_origin + "/")  # same site (cookies ignore ports), other origin
    code, text = status(page, "ws")
    assert code == 0, f"the other origin's page got the websocket: {text}"
    assert "refused" in text
    lines = handshakes(server, 2)
    assert len(lines) == 2, lines
    assert lines[-1].endswith('"WebSocket /ws" 403'), (
        f"expected 403 (the cookie was sent and refused by Origin), got: {lines[-1]}"
    )

    page.goto("/spa/")  # and the app's own page still may
    code, text = click(page, "ws")
    assert code == 101, text
    assert handshakes(server, 3)[-1].endswith("[accepted]")
