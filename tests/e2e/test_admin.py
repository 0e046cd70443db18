"""The administration, in the browser against the real app: who sees it, the users table and
its row menu (disable ends the user's session, a reset link sets a new password, delete),
invites used to sign up, the settings closing sign-ups, the audit log of all of it, and
screenshots of every section in both themes at desktop and phone width."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.admin_support import (
    SIZES,
    admin_headers,
    client,
    make_admin,
    open_admin,
    set_settings,
)
from tests.e2e.conftest import _start_app, _stop_app
from tests.e2e.helpers import (
    SCREENS,
    PageLog,
    answered,
    login,
    open_app,
    register,
    screenshot,
    send,
    watch,
)
from tests.helpers.accounts import PASSWORD
from tests.helpers.accounts import register as http_register

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(scope="module")
def admin_app(tmp_path_factory, gemini):
    server = _start_app(tmp_path_factory.mktemp("admin"), gemini.url)
    yield server
    _stop_app(server)


def signed_in_admin(page: Page, server, username: str) -> None:
    """Sign up through the form, become admin with the CLI, reload: /me now says admin."""
    open_app(page, server.url)
    register(page, username)
    make_admin(server, username)
    page.reload()
    page.wait_for_selector("body.ready")


def user_row(page: Page, username: str):
    return page.locator(
        "#admin-users-rows tr", has=page.locator(".cell-name", has_text=re.compile(f"^{username}$"))
    )


def user_action(page: Page, username: str, action: str) -> None:
    user_row(page, username).get_by_role("button", name=f"Actions for {username}").click()
    page.locator("#admin-user-menu").get_by_role("menuitem", name=action).click()


def admin_nav(page: Page, section: str) -> None:
    """A link of the administration's nav (it is open already)."""
    page.get_by_role("navigation", name="Administration").get_by_role("link", name=section).click()


def test_a_non_admin_sees_nothing_of_it(page: Page, admin_app, unique):
    open_app(page, admin_app.url)
    register(page, unique("plain"))
    page.locator("#account-button").click()
    expect(page.locator("#account-menu")).to_be_visible()
    expect(page.get_by_role("menuitem", name="Administration")).to_have_count(0)
    expect(page.get_by_role("menuitem", name="Two-factor sign-in")).to_be_visible()
    page.keyboard.press("Escape")
    page.evaluate("location.hash = '#/admin/users'")
    expect(page).to_have_url(re.compile(r"#/$"))
    expect(page.locator("#admin")).to_be_hidden()
    expect(page.locator("#chat")).to_be_visible()
    # Typed into the address bar and loaded afresh: the same.
    page.goto(admin_app.url + "/#/admin/settings")
    page.wait_for_selector("body.ready")
    expect(page).to_have_url(re.compile(r"#/$"))
    expect(page.locator("#admin")).to_be_hidden()


def test_users_disable_reset_link_role_and_delete(new_context, admin_app, unique, page_log):
    page = new_context().new_page()
    watch(page, page_log)
    boss, bob, carol = unique("boss"), unique("bob"), unique("carol")
    signed_in_admin(page, admin_app, boss)
    with client(admin_app) as http:
        http_register(http, carol)

    # Bob is signed in elsewhere.
    bob_page = new_context().new_page()
    bob_log = watch(bob_page, PageLog(expected_statuses={401, 403}))
    open_app(bob_page, admin_app.url)
    register(bob_page, bob)

    open_admin(page, "Users")
    expect(user_row(page, boss)).to_contain_text("you")
    expect(user_row(page, boss)).to_contain_text("Administrator")
    expect(user_row(page, bob)).to_contain_text("User")
    expect(page.locator("#admin-users-caption")).to_have_text(re.compile(r"^\d+ users$"))
    # The search box filters by name or email.
    page.get_by_label("Search users").fill(bob[:6])
    expect(page.locator("#admin-users-rows tr")).to_have_count(1)
    expect(user_row(page, bob)).to_be_visible()
    page.get_by_label("Search users").fill("")
    expect(user_row(page, carol)).to_be_visible()

    # Disable Bob: his session is refused from then on.
    user_action(page, bob, "Disable account")
    expect(user_row(page, bob)).to_contain_text("disabled")
    expect(page.locator("#toast")).to_contain_text("can no longer sign in")
    bob_page.reload()
    bob_page.wait_for_selector("body.ready")
    expect(bob_page.locator("#auth-view")).to_be_visible()
    bob_page.fill("#login-username", bob)
    bob_page.fill("#login-password", PASSWORD)
    bob_page.locator("#login-form").get_by_role("button", name="Log in").click()
    expect(bob_page.locator("#login-form-error")).to_have_text(
        "This account is disabled. Ask the site's administrator."
    )
    assert bob_log.unexpected_errors() == []
    # And enabled again.
    user_action(page, bob, "Enable account")
    expect(user_row(page, bob)).not_to_contain_text("disabled")

    # Promote and demote, by keyboard: Enter on "⋯" opens the menu, arrows move, Escape closes.
    more = user_row(page, bob).get_by_role("button", name=f"Actions for {bob}")
    more.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("menuitem", name="Make administrator")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="Disable account")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#admin-user-menu")).to_be_hidden()
    expect(more).to_be_focused()
    user_action(page, bob, "Make administrator")
    expect(user_row(page, bob)).to_contain_text("Administrator")
    user_action(page, bob, "Remove administrator")
    expect(user_row(page, bob).locator("td").nth(1)).to_have_text("User")

    # A password reset link, shown once with Copy, used in another browser.
    user_action(page, bob, "Password reset link")
    dialog = page.locator("#link-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text(f"Password reset link for {bob}")
    url = page.locator("#link-url").input_value()
    assert re.match(rf"^{re.escape(admin_app.url)}/#/reset/\S+$", url), url
    dialog.get_by_role("button", name="Copy").click()
    expect(dialog.get_by_role("button", name="Copied")).to_be_visible()
    dialog.get_by_role("button", name="Done").click()

    reset_page = new_context().new_page()
    watch(reset_page, PageLog())
    reset_page.goto(url)
    reset_page.wait_for_selector("body.ready")
    expect(reset_page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    reset_page.fill("#reset-new_password", NEW_PASSWORD)
    reset_page.fill("#reset-new_password_confirm", NEW_PASSWORD)
    reset_page.get_by_role("button", name="Set new password").click()
    expect(reset_page.locator("#auth-notice")).to_have_text(
        "Your password was changed. Log in with the new one."
    )
    login(reset_page, bob, NEW_PASSWORD)

    # Delete Carol, after the confirmation.
    user_action(page, carol, "Delete")
    confirm = page.locator("#confirm-dialog")
    expect(confirm).to_contain_text(f"Delete {carol}?")
    confirm.get_by_role("button", name="Delete").click()
    expect(user_row(page, carol)).to_have_count(0)
    expect(page.locator("#toast")).to_contain_text("were deleted")

    # The last admin can't demote themself: the refusal in plain words.
    page_log.expected_statuses.add(409)
    user_action(page, boss, "Remove administrator")
    expect(page.locator("#toast")).to_have_text(
        "The last administrator can't be demoted, disabled or deleted."
    )

    # The audit log shows what happened, newest first, filtered by event and by name.
    admin_nav(page, "Audit log")
    rows = page.locator("#admin-audit-rows tr")
    expect(rows.first).to_be_visible()
    for event in (
        "admin.user_disabled",
        "admin.user_enabled",
        "admin.role_changed",
        "admin.password_reset_link",
        "password_reset_used",
        "admin.user_deleted",
    ):
        expect(page.locator(f'#admin-audit-rows tr[data-event="{event}"]').first).to_be_visible()
    page.get_by_label("Event").select_option("admin.user_disabled")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(boss)
    expect(rows.first).to_contain_text(bob)
    page.get_by_label("Event").select_option("")
    page.locator("#audit-username").fill(carol)
    page.get_by_role("button", name="Filter").click()
    expect(page.locator('#admin-audit-rows tr[data-event="admin.user_deleted"]')).to_have_count(1)


def test_invites_and_sign_up_policy(new_context, admin_app, unique, page_log):
    page = new_context().new_page()
    watch(page, page_log)
    boss = unique("boss")
    signed_in_admin(page, admin_app, boss)
    headers = admin_headers(admin_app, boss)
    try:
        # Invite only, through the settings screen.
        open_admin(page, "Settings")
        expect(page.get_by_role("radio", name=re.compile("^Anyone"))).to_be_checked()
        page.get_by_role("radio", name=re.compile("^With an invite")).check()
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#toast")).to_have_text("Settings saved.")

        # Without a link, the sign-up tab says an invite is needed and has no form.
        stranger = new_context().new_page()
        watch(stranger, PageLog())
        open_app(stranger, admin_app.url)
        stranger.get_by_role("tab", name="Sign up").click()
        expect(stranger.locator("#register-closed")).to_contain_text("needs an invite link")
        expect(stranger.locator("#register-form")).to_be_hidden()

        # An invite for two, its link shown once.
        open_admin(page, "Invites")
        page.get_by_label("Uses").fill("2")
        page.get_by_label("Note (optional)").fill("for the Lisbon team")
        page.get_by_role("button", name="Create invite link").click()
        dialog = page.locator("#link-dialog")
        expect(dialog.get_by_role("heading", name="Invite link")).to_be_visible()
        url = page.locator("#link-url").input_value()
        assert "/#/invite/" in url
        dialog.get_by_role("button", name="Done").click()
        row = page.locator("#admin-invites-rows tr", has_text="for the Lisbon team")
        expect(row).to_contain_text("0 of 2")
        expect(row).to_contain_text("active")

        # Used to sign up.
        guest = unique("guest")
        invited = new_context().new_page()
        watch(invited, PageLog())
        invited.goto(url)
        invited.wait_for_selector("body.ready")
        expect(invited.locator("#register-invite-notice")).to_be_visible()
        invited.fill("#register-username", guest)
        invited.fill("#register-email", f"{guest}@example.com")
        invited.fill("#register-password", PASSWORD)
        invited.fill("#register-password_confirm", PASSWORD)
        invited.get_by_role("button", name="Create account").click()
        expect(invited.locator("#account-name")).to_have_text(guest)
        expect(invited).to_have_url(re.compile(r"#/$"))

        page.reload()
        page.wait_for_selector("body.ready")
        expect(row).to_contain_text("1 of 2")
        expect(row).to_contain_text(guest)

        # Revoked: the link no longer signs anyone up, in plain words.
        row.get_by_role("button", name="Revoke invite for the Lisbon team").click()
        page.locator("#confirm-dialog").get_by_role("button", name="Revoke").click()
        expect(row).to_contain_text("revoked")
        late = new_context().new_page()
        watch(late, PageLog(expected_statuses={403}))
        late.goto(url)
        late.wait_for_selector("body.ready")
        name = unique("late")
        late.fill("#register-username", name)
        late.fill("#register-email", f"{name}@example.com")
        late.fill("#register-password", PASSWORD)
        late.fill("#register-password_confirm", PASSWORD)
        late.get_by_role("button", name="Create account").click()
        expect(late.locator("#register-form-error")).to_have_text(
            "This invite link is invalid, expired or used up. Ask for a new one."
        )

        # Closed: the sign-up tab explains it.
        admin_nav(page, "Settings")
        page.get_by_role("radio", name=re.compile("^Nobody")).check()
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#toast")).to_have_text("Settings saved.")
        stranger.reload()
        stranger.wait_for_selector("body.ready")
        stranger.get_by_role("tab", name="Sign up").click()
        expect(stranger.locator("#register-closed")).to_have_text(
            "Sign-ups are closed on this site. Ask its administrator for an account."
        )
        expect(stranger.locator("#register-form")).to_be_hidden()

        # Settings refusals are shown by their field, translated.
        page.get_by_label("Daily token budget of the site").fill("lots")
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#set-daily_token_budget-error")).to_have_text(
            "Must be a whole number, 0 or more."
        )

        admin_nav(page, "Audit log")
        for event in ("admin.settings_changed", "admin.invite_created", "admin.invite_revoked"):
            expect(
                page.locator(f'#admin-audit-rows tr[data-event="{event}"]').first
            ).to_be_visible()
    finally:
        set_settings(admin_app, headers, signup_policy="open", signup_email_domains=[])


def test_a_users_monthly_quota_and_usage(new_context, admin_app, unique, page_log):
    page = new_context().new_page()
    watch(page, page_log)
    boss, member = unique("boss"), unique("member")
    signed_in_admin(page, admin_app, boss)
    member_page = new_context().new_page()
    member_log = watch(member_page, PageLog())
    open_app(member_page, admin_app.url)
    register(member_page, member)
    headers = admin_headers(admin_app, boss)

    def listed() -> dict:
        with client(admin_app) as http:
            r = http.get("/admin/users", params={"q": member}, headers=headers)
        assert r.status_code == 200, r.text
        [user] = r.json()["items"]
        return user

    # Set from the row's menu, typed with a thousands separator.
    open_admin(page, "Users")
    user_action(page, member, "Set monthly quota")
    dialog = page.locator("#quota-dialog")
    expect(dialog.get_by_role("heading")).to_have_text(f"Monthly token quota for {member}")
    box = dialog.get_by_label("Tokens per month")
    expect(box).to_be_focused()
    expect(box).to_have_value("")
    box.fill("lots")
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("#quota-monthly_tokens-error")).to_have_text(
        "Must be a whole number, 0 or more."
    )
    box.fill("50,000")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#toast")).to_have_text("Quota saved.")
    expect(user_row(page, member).locator("td").nth(5)).to_have_text("0quota 50,000")
    assert listed()["monthly_quota"] == 50_000

    # The member chats; the Usage screen shows their tokens today and this month.
    send(member_page, "Hello there")
    answered(member_page)
    assert member_log.unexpected_errors() == []
    tokens = listed()["tokens_month"]
    assert tokens > 0
    admin_nav(page, "Usage")
    usage_row = page.locator("#usage-users-rows tr", has=page.get_by_role("rowheader", name=member))
    cells = usage_row.locator("td")
    expect(cells.nth(0)).to_have_text(f"{tokens:,}")  # today
    expect(cells.nth(1)).to_have_text(f"{tokens:,}")  # this month
    expect(cells.nth(2)).to_have_text("1")  # answers this month
    expect(cells.nth(3)).to_have_text("1")  # conversations
    expect(cells.nth(4)).to_have_text("50,000")
    expect(page.locator("#usage-today-text")).to_contain_text("tokens used today")

    # Back to Users, the rows drawn before show at once and a fresh page follows: a row's
    # menu opened in between stays open on the redrawn row.
    held = []
    page.route(re.compile(r"/admin/users\?"), lambda route: held.append(route))
    admin_nav(page, "Users")
    more = user_row(page, member).get_by_role("button", name=f"Actions for {member}")
    more.click()
    menu = page.locator("#admin-user-menu")
    expect(menu.get_by_role("menuitem", name="Make administrator")).to_be_focused()
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    with page.expect_response(re.compile(r"/admin/users\?")):
        held[0].continue_()
    page.unroute(re.compile(r"/admin/users\?"))
    # The fresh row: this month's usage, with its quota.
    expect(user_row(page, member).locator("td").nth(4)).to_have_text("1")
    expect(user_row(page, member).locator("td").nth(5)).to_have_text(f"{tokens:,}quota 50,000")
    expect(menu.get_by_role("menuitem", name="Make administrator")).to_be_focused()
    expect(more).to_have_attribute("aria-expanded", "true")
    # The dialog starts from the quota. 0 lifts it.
    menu.get_by_role("menuitem", name="Set monthly quota").click()
    expect(box).to_have_value("50000")
    box.fill("0")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(user_row(page, member).locator("td").nth(5)).to_have_text(f"{tokens:,}no quota")
    assert listed()["monthly_quota"] == 0
    # Emptied: the site's default again.
    user_action(page, member, "Set monthly quota")
    box.fill("")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(user_row(page, member).locator("td").nth(5)).to_have_text(f"{tokens:,}")
    assert listed()["monthly_quota"] is None
    admin_nav(page, "Usage")
    expect(cells.nth(4)).to_have_text("default")

    admin_nav(page, "Audit log")
    page.get_by_label("Event").select_option("admin.quota_changed")
    page.locator("#audit-username").fill(member)
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#admin-audit-rows tr")).to_have_count(3)


def test_the_audit_log_loads_more(new_context, admin_app, unique, page_log):
    page = new_context().new_page()
    watch(page, page_log)
    boss = unique("boss")
    signed_in_admin(page, admin_app, boss)
    headers = admin_headers(admin_app, boss)
    # More than a page (50) of registrations, the newest events of their kind.
    prefix = unique("many")
    with client(admin_app) as http:
        names = [http_register(http, f"{prefix}_{i:02}") for i in range(60)]
        # Every registration the log holds, newest first, as the API pages them.
        expected, before = [], None
        while True:
            params = {"event": "register", "limit": 100}
            if before:
                params["before_id"] = before
            r = http.get("/admin/audit", params=params, headers=headers)
            assert r.status_code == 200, r.text
            expected += [e["target"] or "—" for e in r.json()["items"]]
            if not r.json()["has_more"]:
                break
            before = r.json()["items"][-1]["id"]
    assert expected[:60] == names[::-1]

    try:
        open_admin(page, "Audit log")
        page.get_by_label("Event").select_option("register")
        rows = page.locator("#admin-audit-rows tr")
        more = page.get_by_role("button", name="Load more")
        expect(rows).to_have_count(50)
        expect(rows.first).to_contain_text(names[-1])
        expect(rows.last).to_contain_text(names[10])
        expect(more).to_be_visible()
        # Older ones below the newer, once each, until there are no more and the button goes.
        for shown in range(100, len(expected) + 50, 50):
            more.click()
            expect(rows).to_have_count(min(shown, len(expected)))
        expect(more).to_be_hidden()
        expect(page.get_by_role("region", name="Newest first")).to_be_focused()
        assert rows.locator("td:nth-child(4)").all_inner_texts() == expected
        expect(rows.filter(has_text=names[0])).to_have_count(1)

        # A new filter starts from the newest again.
        page.locator("#audit-username").fill(names[0])
        page.get_by_role("button", name="Filter").click()
        expect(rows).to_have_count(1)
        expect(more).to_be_hidden()
    finally:
        # Out of the Users table's first page, which the other tests of this app look at.
        with client(admin_app) as http:
            r = http.get("/admin/users", params={"q": prefix, "limit": 100}, headers=headers)
            for user in r.json()["items"]:
                http.delete(f"/admin/users/{user['id']}", headers=headers)


def assert_fits(page: Page, where: str) -> None:
    """Nothing makes the document wider than the screen: a phone browser would widen its
    layout viewport to fit it (innerWidth grows) and zoom the whole page out."""
    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: innerWidth, "
        "screen: visualViewport.width})"
    )
    assert widths["scroll"] <= widths["inner"], (where, widths)
    assert widths["inner"] <= page.viewport_size["width"], (where, widths)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_admin_screens(new_context, admin_app, unique, theme, size):
    page = new_context(color_scheme=theme, timezone_id="UTC", **SIZES[size]).new_page()
    log = watch(page, PageLog())
    name = f"admin-{theme}-{size}"
    boss = unique("boss")
    signed_in_admin(page, admin_app, boss)
    with client(admin_app) as http:
        for i in range(3):
            http_register(http, unique(f"member{i}_"))
        headers = admin_headers(admin_app, boss)
        http.post("/admin/invites", json={"note": "screens", "max_uses": 5}, headers=headers)

    for section in ("Users", "Invites", "Usage", "Audit log", "Settings"):
        if section == "Users":
            open_admin(page, section)
        else:
            admin_nav(page, section)
        page.wait_for_timeout(300)
        screenshot(page, f"{name}-{section.split()[0].lower()}", SCREENS)
        # The page never scrolls sideways; wide tables scroll inside their frame.
        wide = page.evaluate(
            """w => [...document.querySelectorAll('body *')]
              .filter(e => !e.closest('.table-wrap > *, .admin-nav > *')
                && e.getBoundingClientRect().right > w + 1 && e.getClientRects().length)
              .map(e => e.id || e.className || e.tagName).slice(0, 8)""",
            SIZES[size]["viewport"]["width"],
        )
        assert wide == [], wide
        assert_fits(page, section)
    admin_nav(page, "Users")
    user_action(page, boss, "Password reset link")
    expect(page.locator("#link-dialog")).to_be_visible()
    assert_fits(page, "the link dialog")
    # Centred on the screen, not on a zoomed-out page.
    box = page.locator("#link-dialog").bounding_box()
    assert abs(box["x"] + box["width"] / 2 - SIZES[size]["viewport"]["width"] / 2) <= 2, box
    screenshot(page, f"{name}-link-dialog", SCREENS)
    page.locator("#link-dialog").get_by_role("button", name="Done").click()
    more = user_row(page, boss).get_by_role("button", name=f"Actions for {boss}")
    more.click()
    screenshot(page, f"{name}-user-menu", SCREENS)
    assert log.unexpected_errors() == []
