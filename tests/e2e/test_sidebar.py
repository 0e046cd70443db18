"""The conversations sidebar: date groups, full-width titles, one Tab stop and one "⋯" menu per
row, New chat that stores nothing until its first message, relative and hover timestamps."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from tests.e2e.helpers import answered, open_app, register, send

MONTHS = {
    "en": "January February March April May June July August September October November December",
    "pt-BR": "Janeiro Fevereiro Março Abril Maio Junho Julho Agosto Setembro Outubro Novembro "
    "Dezembro",
}


def month_label(day: datetime, now: datetime, lang: str) -> str:
    name = MONTHS[lang].split()[day.month - 1]
    if day.year == now.year:
        return name
    return f"{name} {day.year}" if lang == "en" else f"{name} de {day.year}"


def age_conversations(app_server, username: str, ages: dict[str, timedelta]) -> datetime:
    """Move the last activity of `username`'s conversations titled like the keys back by their age,
    in the app's own SQLite database (the server keeps no cache of it). Returns "now"."""
    now = datetime.now(UTC)
    with sqlite3.connect(app_server.log_path.parent / "e2e.db") as db:
        for title, age in ages.items():
            updated = (now - age).replace(tzinfo=None)
            created = updated - timedelta(minutes=1)
            cursor = db.execute(
                "UPDATE conversations SET created_at = ?, updated_at = ? WHERE title LIKE ?"
                " AND user_id = (SELECT id FROM users WHERE username = ?)",
                (created.isoformat(" "), updated.isoformat(" "), f"%{title}%", username),
            )
            assert cursor.rowcount == 1, title
    return now


def posts_to_session(page: Page) -> list[str]:
    calls: list[str] = []

    def seen(request) -> None:
        if request.method == "POST" and request.url.endswith("/session"):
            calls.append(request.url)

    page.on("request", seen)
    return calls


def test_new_chat_stores_nothing_until_its_first_message(page: Page, app_server, unique):
    calls = posts_to_session(page)
    open_app(page, app_server.url)
    register(page, unique("newchat"))
    new_chat = page.get_by_role("button", name="New chat", exact=True)
    for _ in range(3):
        new_chat.click()
    expect(page.locator("#empty-state")).to_be_visible()
    expect(page.locator("#composer-input")).to_be_focused()
    expect(page.locator(".conversation")).to_have_count(0)
    assert calls == []

    send(page, "The first message creates it")
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: The first message creates it"])
    expect(page.locator(".conversation")).to_have_count(1)
    expect(page.locator(".conversation.active")).to_have_count(1)
    assert len(calls) == 1

    # New chat leaves the stored one alone and opens the empty screen; twice is still once.
    new_chat.click()
    new_chat.click()
    expect(page.locator("#empty-state")).to_be_visible()
    expect(page.locator(".conversation.active")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"#/$"))
    page.reload()
    page.wait_for_selector("body.ready")
    expect(page.locator(".conversation")).to_have_count(1)
    assert len(calls) == 1


def test_groups_by_date_relative_times_and_full_width_titles(new_context, app_server, unique):
    page = new_context(timezone_id="UTC").new_page()
    open_app(page, app_server.url)
    username = unique("groups")
    register(page, username)
    long_title = "A rather long question about emperor penguins in winter"
    for text in ["Older one", "Last week one", "Yesterday one", long_title]:
        page.get_by_role("button", name="New chat", exact=True).click()
        send(page, text)
        expect(page.locator(".message.ai .bubble")).to_have_text([f"Echo: {text}"])
        answered(page)
    now = age_conversations(
        app_server,
        username,
        {
            "Yesterday one": timedelta(days=1),
            "Last week one": timedelta(days=5),
            "Older one": timedelta(days=60),
        },
    )
    page.reload()
    page.wait_for_selector("body.ready")
    older = now - timedelta(days=60)
    labels = page.locator(".group-label")
    expect(labels).to_have_text(
        ["Today", "Yesterday", "Previous 7 days", month_label(older, now, "en")]
    )
    # Each group is a labelled section holding its rows.
    today = page.get_by_role("region", name="Today")
    expect(today.locator(".conversation-title")).to_have_text([long_title])
    times = page.locator(".conversation-time")
    expect(times.nth(0)).to_have_text(re.compile(r"^(now|\d+ minutes? ago)$"))
    expect(times.nth(1)).to_have_text("yesterday")
    expect(times.nth(2)).to_have_text("5 days ago")
    # The full date is one hover away.
    yesterday = now - timedelta(days=1)
    expect(times.nth(1)).to_have_attribute("title", re.compile(rf"{yesterday.year}"))

    page.get_by_label("Language").select_option("pt-BR")
    expect(labels).to_have_text(
        ["Hoje", "Ontem", "Últimos 7 dias", month_label(older, now, "pt-BR")]
    )
    expect(times.nth(1)).to_have_text("ontem")
    expect(times.nth(2)).to_have_text("há 5 dias")
    page.get_by_label("Idioma").select_option("en")

    # The title has the row's width: no hidden buttons keep space (pointer away from the list).
    page.mouse.move(900, 400)
    row = page.locator(".conversation").filter(has_text="emperor").first
    width = row.locator(".conversation-title").evaluate("e => e.getBoundingClientRect().width")
    row_width = row.evaluate("e => e.getBoundingClientRect().width")
    assert width >= row_width - 24, (width, row_width)
    # The "⋯" shows over the end of the title on hover (always on the open conversation).
    expect(row.locator(".conversation-more")).to_be_visible()
    other = page.locator(".conversation").filter(has_text="Yesterday one")
    expect(other.locator(".conversation-more")).to_be_hidden()
    other.hover()
    expect(other.locator(".conversation-more")).to_be_visible()


def test_one_tab_stop_per_conversation_and_a_keyboard_menu(page: Page, app_server, unique):
    open_app(page, app_server.url)
    register(page, unique("tabs"))
    for text in ["alpha", "beta", "gamma"]:
        page.get_by_role("button", name="New chat", exact=True).click()
        send(page, text)
        expect(page.locator(".message.ai .bubble")).to_have_text([f"Echo: {text}"])
        answered(page)
    links = page.locator(".conversation-link")
    links.first.focus()
    # One Tab per conversation: link, link, link, then out of the list.
    for i in (1, 2):
        page.keyboard.press("Tab")
        expect(links.nth(i)).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#account-button")).to_be_focused()

    menu = page.locator("#conversation-menu")
    rename = menu.get_by_role("menuitem", name="Rename")
    delete = menu.get_by_role("menuitem", name="Delete")
    # Shift+F10 on the row opens its menu; arrows move and wrap; Escape gives the focus back.
    links.nth(1).focus()
    page.keyboard.press("Shift+F10")
    expect(menu).to_be_visible()
    expect(rename).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(delete).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(rename).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(links.nth(1)).to_be_focused()

    # → reaches the "⋯" button (no Tab stop of its own), which opens with Enter or ↓.
    page.keyboard.press("ArrowRight")
    more = page.locator(".conversation").nth(1).locator(".conversation-more")
    expect(more).to_be_focused()
    expect(more).to_have_attribute("aria-label", "Actions for “beta”")
    page.keyboard.press("ArrowDown")
    expect(rename).to_be_focused()
    expect(more).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    expect(more).to_be_focused()
    expect(more).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(rename).to_be_focused()
    page.keyboard.press("Enter")
    box = page.get_by_role("textbox", name="New title")
    expect(box).to_be_focused()
    box.fill("beta renamed")
    box.press("Enter")
    expect(page.locator(".conversation-title")).to_have_text(["gamma", "beta renamed", "alpha"])
    expect(links.nth(1)).to_be_focused()

    page.keyboard.press("Shift+F10")
    page.keyboard.press("End")
    expect(delete).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator(".conversation-title")).to_have_text(["gamma", "alpha"])
    # A click anywhere else closes an open menu.
    page.locator(".conversation").first.hover()
    page.locator(".conversation").first.locator(".conversation-more").click()
    expect(menu).to_be_visible()
    page.locator("#messages").click()
    expect(menu).to_be_hidden()


def test_messages_show_their_date_and_time_on_hover(new_context, app_server, unique):
    page = new_context(timezone_id="UTC").new_page()
    open_app(page, app_server.url)
    register(page, unique("hover"))
    send(page, "When did I write this?")
    year = str(datetime.now(UTC).year)
    full_date = re.compile(rf"^\w+day, \w+ \d+, {year} at \d+:\d\d\s[AP]M$")
    bubbles = page.locator(".message .bubble")
    expect(bubbles).to_have_count(2)
    for i in range(2):
        expect(bubbles.nth(i)).to_have_attribute("title", full_date)
    # After a reload the time is the server's.
    page.reload()
    page.wait_for_selector("body.ready")
    expect(bubbles.first).to_have_attribute("title", full_date)
    page.get_by_label("Language").select_option("pt-BR")
    expect(bubbles.first).to_have_attribute("title", re.compile(rf"-feira|sábado|domingo.*{year}"))
