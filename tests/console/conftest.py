"""Real-browser tests of the web console: `smsgw dev` as a process, Debian's
chromium driven by Playwright.

The browser is the system one (`/usr/bin/chromium`, or `SMSGW_CHROMIUM`);
Playwright's own browser download is never used. Without Playwright or a
chromium these tests skip and say why.

Screenshots go to the test's temporary folder; with
`SMSGW_CONSOLE_SCREENSHOTS=1` they replace docs/console/<name>.png, the
pictures the README shows (a plain test run leaves the work tree alone).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

try:
    from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "console"
CHROMIUM = os.environ.get("SMSGW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
]
TIMEOUT_MS = 15_000
"""Generous: a wait ends as soon as its condition holds, never sooner."""
VIEWPORT = {"width": 1280, "height": 800}


@dataclass
class DevGateway:
    """What `smsgw dev` printed: where it listens and the demo logins."""

    banner: str
    base_url: str
    demo_account: str = "demo"
    demo_password: str = ""
    """The SMPP (and Jasmin) password of the demo account."""
    api_key: str = ""
    admin_username: str = ""
    admin_password: str = ""
    portal_username: str = ""
    portal_password: str = ""
    reseller_username: str = ""
    reseller_password: str = ""

    def url(self, path: str) -> str:
        return self.base_url + path


def parse_banner(banner: str) -> DevGateway:
    """Read the banner of `smsgw dev` (tests/smsgw/test_dev.py reads the same)."""
    http = re.search(r"HTTP\s+(http://\S+)", banner)
    if http is None:
        raise AssertionError(f"no HTTP address in the banner of smsgw dev:\n{banner}")
    dev = DevGateway(banner=banner, base_url=http[1].rstrip("/"))
    if match := re.search(r"system_id\s+(\S+)\s+password\s+(\S+)", banner):
        dev.demo_account, dev.demo_password = match[1], match[2]
    if match := re.search(r"API key\s+(\S+)", banner):
        dev.api_key = match[1]
    # "Console  http://h:p/console   user admin   password X", the same for Portal.
    login = r"\s+(http://\S+)\s+user\s+(\S+)\s+password\s+(\S+)"
    if match := re.search("Console" + login, banner):
        dev.admin_username, dev.admin_password = match[2], match[3]
    if match := re.search("Portal" + login, banner):
        dev.portal_username, dev.portal_password = match[2], match[3]
    if match := re.search("Reseller" + login, banner):
        dev.reseller_username, dev.reseller_password = match[2], match[3]
    return dev


def _read_banner(process: subprocess.Popen[str], timeout: float) -> str:
    lines: list[str] = []
    done = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if not done.is_set():
                lines.append(line)
                if "Ctrl-C stops." in line:
                    done.set()
            # Past the banner: keep draining, so a full pipe never blocks it.
        done.set()

    threading.Thread(target=read, daemon=True, name="smsgw-dev-stdout").start()
    done.wait(timeout)
    banner = "".join(lines)
    if "Ctrl-C stops." not in banner:
        raise AssertionError(f"smsgw dev did not print its banner in {timeout} s:\n{banner}")
    return banner


@pytest.fixture(scope="package")
def dev_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevGateway]:
    """One `smsgw dev` process for the session, on ports the OS picks."""
    log = tmp_path_factory.mktemp("smsgw-dev") / "stderr.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "smsgw.cli", "dev", "--port", "0", "--api-port", "0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            try:
                banner = _read_banner(process, timeout=60)
            except AssertionError as error:
                raise AssertionError(f"{error}\nstderr:\n{log.read_text()}") from None
            yield parse_banner(banner)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    """Package-scoped, not session: the sync API keeps an event loop running on
    this thread while it is open, and the async tests of other folders need
    the thread's loop free once this folder is done."""
    if sync_playwright is None:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).is_file()):
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """The system chromium, headless, with a fresh profile of its own."""
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def page(browser: Browser, dev_gateway: DevGateway) -> Iterator[Page]:
    """A new page in a new context (no cookies shared between tests)."""
    context = browser.new_context(
        base_url=dev_gateway.base_url, viewport=VIEWPORT, accept_downloads=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def screenshot(tmp_path: Path):
    """`screenshot(page, "login")`: docs/console/login.png when asked for
    (SMSGW_CONSOLE_SCREENSHOTS=1), else a file in the test's folder."""
    publish = os.environ.get("SMSGW_CONSOLE_SCREENSHOTS") == "1"

    def take(page: Page, name: str, full_page: bool = True) -> Path:
        folder = SCREENSHOTS if publish else tmp_path
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        with contextlib.suppress(Exception):
            page.evaluate("document.fonts.ready")
        page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        return path

    return take
