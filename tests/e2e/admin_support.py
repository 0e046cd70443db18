"""What the operator's-controls browser tests share: an app of their own (they change the
site's settings, which would leak into other tests on the shared app), making an admin with
the real `python -m app.manage create-admin`, an HTTP client of the live app, and the screen
sizes the administration is looked at in."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ROOT, AppServer
from tests.helpers.accounts import PASSWORD

SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


def db_url(server: AppServer) -> str:
    return f"sqlite:///{server.log_path.parent / 'e2e.db'}"


def make_admin(server: AppServer, username: str, password: str = PASSWORD) -> None:
    """Promote `username` (or create it) with the operator's command, against the app's database."""
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": db_url(server),
        "DATA_DIR": str(server.log_path.parent),
        "CHATBOT_ADMIN_PASSWORD": password,
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.manage",
            "create-admin",
            "--username",
            username,
            "--email",
            f"{username}@example.com",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def client(server: AppServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=10)


def admin_headers(server: AppServer, username: str, password: str = PASSWORD) -> dict[str, str]:
    with client(server) as http:
        r = http.post("/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


def set_settings(server: AppServer, headers: dict[str, str], **fields) -> dict:
    with client(server) as http:
        r = http.patch("/admin/settings", json=fields, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()


def open_admin(page: Page, section: str = "Users") -> None:
    """Account menu → Administration, then the section's link in the admin nav."""
    phone = page.viewport_size["width"] < 800
    if phone:
        page.get_by_role("button", name="Open conversations").first.click()
    page.locator("#account-button").click()
    page.get_by_role("menuitem", name="Administration").click()
    expect(page.locator("#admin")).to_be_visible()
    nav = page.get_by_role("navigation", name="Administration")
    nav.get_by_role("link", name=section).click()
    expect(nav.get_by_role("link", name=section)).to_have_attribute("aria-current", "page")
