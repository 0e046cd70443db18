"""Phone width (360 px): the account menu inside the drawer, the header's language picker,
wide tables in answers, the demo banner."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.helpers import PageLog, answered, open_app, register, send, watch
from tests.fakes.fake_gemini import Behavior

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}

TABLE = """| Component | Responsibility | Configuration |
|---|---|---|
| Authentication | Internationalization | Synchronization |
| Observability | Containerization | Parallelization |
"""

# Every word of every table cell that the layout split over two lines.
BROKEN_WORDS = """table => {
  const broken = [];
  for (const cell of table.querySelectorAll("th, td")) {
    const text = cell.firstChild;
    for (const match of text.data.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(text, match.index);
      range.setEnd(text, match.index + match[0].length);
      if (range.getClientRects().length > 1) broken.push(match[0]);
    }
  }
  return broken;
}"""


def test_escape_in_the_account_menu_keeps_the_drawer_open(new_context, app_server, unique):
    page = new_context(**PHONE).new_page()
    log = watch(page, PageLog())
    open_app(page, app_server.url)
    register(page, unique("drawer"))
    page.get_by_role("button", name="Open conversations").click()
    sidebar = page.locator("#sidebar")
    expect(sidebar).to_be_visible()
    page.get_by_role("button", name=re.compile("^Account")).click()
    expect(page.locator("#account-menu")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#account-menu")).to_be_hidden()
    expect(page.locator("#account-button")).to_be_focused()
    page.wait_for_timeout(300)  # a closing drawer would be on its way out by now
    expect(sidebar).to_be_visible()
    expect(page.locator("body")).to_have_class(re.compile("drawer-open"))
    # The next Escape is the drawer's.
    page.keyboard.press("Escape")
    expect(sidebar).to_be_hidden()
    assert log.unexpected_errors() == []


def test_the_language_picker_leaves_the_title_room(new_context, app_server, unique):
    page = new_context(**PHONE).new_page()
    open_app(page, app_server.url)
    register(page, unique("picker"))
    send(page, "A question whose title is long enough to need the whole header")
    expect(page.locator(".message.ai .bubble")).to_have_text([re.compile("^Echo")])
    title = page.locator("#chat-title")
    picker = page.get_by_label("Language")
    assert picker.bounding_box()["width"] <= 44
    assert title.bounding_box()["width"] >= 200
    # Still a working language switch.
    picker.select_option("pt-BR")
    expect(page.get_by_label("Idioma")).to_have_value("pt-BR")
    expect(page.get_by_role("button", name="Abrir conversas")).to_be_visible()


def test_wide_tables_scroll_sideways_and_keep_their_words(new_context, app_server, gemini, unique):
    page = new_context(**PHONE).new_page()
    log = watch(page, PageLog())
    open_app(page, app_server.url)
    register(page, unique("table"))
    gemini.fake.push(Behavior(text=TABLE))
    send(page, "A table, please")
    answered(page)  # the whole table, not the rows streamed so far
    table = page.locator(".message.ai table")
    expect(table).to_be_visible()
    assert table.evaluate(BROKEN_WORDS) == []
    assert table.evaluate("t => t.scrollWidth > t.clientWidth"), "the table should scroll"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert log.unexpected_errors() == []


def test_the_demo_banner_is_one_line(new_context, tmp_path_factory, gemini):
    from tests.e2e.conftest import _start_app, _stop_app

    server = _start_app(tmp_path_factory.mktemp("demophone"), gemini.url, MODEL_PROVIDER="demo")
    try:
        for locale in ("en-US", "pt-BR"):
            page = new_context(locale=locale, **PHONE).new_page()
            open_app(page, server.url)
            banner = page.locator("#demo-banner")
            expect(banner).to_be_visible()
            expect(banner).to_contain_text(re.compile("Demo|demonstração"))
            line = banner.evaluate("b => parseFloat(getComputedStyle(b).lineHeight)")
            padding = banner.evaluate(
                "b => parseFloat(getComputedStyle(b).paddingTop)"
                " + parseFloat(getComputedStyle(b).paddingBottom)"
            )
            assert banner.bounding_box()["height"] <= line + padding + 1
            # One line because the text fits, not because it is cut off.
            assert banner.evaluate("b => b.scrollWidth <= b.clientWidth")
        page = new_context().new_page()  # desktop: the whole sentence
        open_app(page, server.url)
        expect(page.locator("#demo-banner")).to_contain_text("no Gemini key is configured")
    finally:
        _stop_app(server)
