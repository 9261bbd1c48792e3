"""The cookie-mode single-page app (``examples/spa/``) in a real headless Chromium.

The FastAPI example runs under uvicorn with ``JWT_COOKIES=1`` and
``JWT_COOKIE_SECURE=0`` (plain http on 127.0.0.1 only; production keeps the
cookies Secure behind https). Playwright drives the system's Chromium; it never
downloads a browser. No Chromium: the test is skipped, unless
``JWT_MIDDLEWARE_REQUIRE_BROWSER=1`` (CI), where that is a failure.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
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
