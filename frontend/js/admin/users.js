// Administration → Users: search, paging, the table, and one "⋯" menu per row (promote or
// demote, disable or enable, a password-reset link, the monthly quota, delete).

import * as api from "../api.js";
import { state, set } from "../state.js";
import { t } from "../i18n.js";
import { $, confirmDialog, h, icon, menuKeydown, showText, toast } from "../dom.js";
import { clearFormErrors, showApiError, showErrors } from "../forms.js";
import { pageOf, parseCount } from "./format.js";
import { ago, dateOnly, emptyRow, fail, num, showLink, td } from "./shared.js";

const LIMIT = 50;
const view = { q: "", offset: 0, total: 0, items: [], seq: 0 };
let menuFor = null; // {user, button}
let quotaFor = null;
let searchTimer = null;

const roleName = (role) => (role === "admin" ? t("roleAdmin") : t("roleUser"));

export async function loadUsers() {
  const seq = ++view.seq;
  try {
    const page = await api.admin.users({ q: view.q, limit: LIMIT, offset: view.offset });
    if (seq !== view.seq) return;
    Object.assign(view, { items: page.items, total: page.total });
    render();
  } catch (err) {
    if (seq === view.seq) fail(err);
  }
}

function badge(text, cls = "") {
  return h("span", { class: `badge ${cls}` }, text);
}

function row(user) {
  const me = user.id === state.user?.user_id;
  const more = h(
    "button",
    {
      type: "button",
      class: "icon-button small",
      "aria-haspopup": "menu",
      "aria-expanded": "false",
      "aria-controls": "admin-user-menu",
      "aria-label": t("adminUserActions", { name: user.username }),
      title: t("adminActions"),
      onclick: (e) => toggleMenu(user, e.currentTarget),
    },
    icon("more"),
  );
  const tokens = [num(user.tokens_month)];
  if (user.monthly_quota !== null && user.monthly_quota !== undefined) {
    // An override of 0 lifts the site's quota for this account.
    const quota = user.monthly_quota === 0 ? t("adminNoQuota") : t("adminQuotaOf", { quota: num(user.monthly_quota) });
    tokens.push(h("span", { class: "cell-note" }, quota));
  }
  return h(
    "tr",
    { class: user.disabled ? "is-disabled" : null, "data-user": user.username },
    h(
      "th",
      { scope: "row" },
      h("span", { class: "cell-name" }, user.username),
      me ? badge(t("adminYou")) : null,
      user.disabled ? badge(t("adminDisabled"), "badge-danger") : null,
      user.totp_enabled ? badge(t("adminTotpOn"), "badge-ok") : null,
    ),
    td(user.email),
    td(roleName(user.role)),
    td(dateOnly(user.created_at), "nowrap"),
    td(ago(user.last_active_at), "nowrap"),
    td(num(user.messages_month), "num"),
    td(tokens, "num"),
    td(more, "actions"),
  );
}

function render() {
  const open = menuFor?.user.id;
  const rows = view.items.map(row);
  $("admin-users-rows").replaceChildren(...(rows.length ? rows : [emptyRow(8, t("adminUsersNone"))]));
  keepMenu(open);
  $("admin-users-caption").textContent = view.total === 1 ? t("adminUsersCaptionOne") : t("adminUsersCaption", { count: num(view.total) });
  const page = pageOf(view.offset, LIMIT, view.total, view.items.length);
  $("admin-users-page").textContent = view.total
    ? t("adminPage", { from: num(page.from), to: num(page.to), total: num(view.total) })
    : "";
  $("admin-users-prev").disabled = page.prev === null;
  $("admin-users-next").disabled = page.next === null;
  $("admin-users-prev").parentElement.hidden = page.prev === null && page.next === null;
}

// -- the row menu ---------------------------------------------------------------------------

function menuItems() {
  return [...$("admin-user-menu").querySelectorAll("[role=menuitem]")];
}

/** The items that depend on the user's state: make or remove admin, disable or enable. */
function labelMenu(user) {
  $("admin-user-role").textContent = user.role === "admin" ? t("adminMakeUser") : t("adminMakeAdmin");
  $("admin-user-disable").textContent = user.disabled ? t("adminEnable") : t("adminDisable");
}

function openMenu(user, button) {
  closeMenu();
  menuFor = { user, button };
  labelMenu(user);
  $("admin-user-menu").hidden = false;
  placeMenu();
  button.setAttribute("aria-expanded", "true");
  menuItems()[0].focus();
}

/**
 * Fixed, next to its "⋯" button (below it, or above when there is no room). When the table
 * or the page scrolls it follows the button, and closes once the button is out of sight.
 */
function placeMenu() {
  if (!menuFor) return;
  const menu = $("admin-user-menu");
  const at = menuFor.button.getBoundingClientRect();
  const frame = menuFor.button.closest(".table-wrap").getBoundingClientRect();
  if (at.right <= frame.left || at.left >= frame.right || at.bottom <= frame.top || at.top >= frame.bottom) {
    closeMenu();
    return;
  }
  const below = at.bottom + 4 + menu.offsetHeight <= window.innerHeight;
  menu.style.top = `${below ? at.bottom + 4 : Math.max(8, at.top - 4 - menu.offsetHeight)}px`;
  menu.style.left = `${Math.max(8, at.right - menu.offsetWidth)}px`;
}

/**
 * The table was drawn again (a fresh page arrived, the language changed) while a row's menu
 * was open: the menu stays open for that user, on the new row's "⋯", or closes when the
 * user is no longer listed.
 */
function keepMenu(userId) {
  if (!menuFor) return;
  const index = view.items.findIndex((u) => u.id === userId);
  const button = $("admin-users-rows").children[index]?.querySelector("[aria-haspopup=menu]");
  if (index < 0 || !button) {
    closeMenu();
    return;
  }
  menuFor = { user: view.items[index], button };
  labelMenu(menuFor.user);
  button.setAttribute("aria-expanded", "true");
  placeMenu();
}

function closeMenu({ restoreFocus = false } = {}) {
  if (!menuFor) return;
  const { button } = menuFor;
  menuFor = null;
  $("admin-user-menu").hidden = true;
  button.setAttribute("aria-expanded", "false");
  if (restoreFocus && button.isConnected) button.focus();
}

function toggleMenu(user, button) {
  if (menuFor?.button === button) closeMenu({ restoreFocus: true });
  else openMenu(user, button);
}

/** A menu item: close the menu (focus back on its "⋯"), then act on its user. */
function choose(action) {
  return () => {
    const user = menuFor?.user;
    closeMenu({ restoreFocus: true });
    if (user) action(user);
  };
}

function replaceUser(updated) {
  view.items = view.items.map((u) => (u.id === updated.id ? updated : u));
  render();
}

async function toggleRole(user) {
  const role = user.role === "admin" ? "user" : "admin";
  try {
    replaceUser(await api.admin.updateUser(user.id, { role }));
    toast(t("adminRoleChanged", { name: user.username, role: roleName(role) }));
    // Demoted myself: the administration is no longer mine (views/admin.js leaves it).
    if (user.id === state.user?.user_id) set({ user: { ...state.user, role } });
  } catch (err) {
    fail(err);
  }
}

async function toggleDisabled(user) {
  try {
    replaceUser(await api.admin.updateUser(user.id, { disabled: !user.disabled }));
    toast(t(user.disabled ? "adminUserEnabled" : "adminUserDisabled", { name: user.username }));
  } catch (err) {
    fail(err);
  }
}

async function resetLink(user) {
  try {
    const link = await api.admin.resetLink(user.id);
    showLink({
      title: t("resetLinkTitle", { name: user.username }),
      text: t("resetLinkText", { name: user.username }),
      url: link.url,
      expiresAt: link.expires_at,
    });
  } catch (err) {
    fail(err);
  }
}

function openQuota(user) {
  quotaFor = user;
  const form = $("quota-form");
  clearFormErrors(form);
  $("quota-title").textContent = t("quotaTitle", { name: user.username });
  form.monthly_tokens.value = user.monthly_quota ?? "";
  $("quota-dialog").showModal();
  form.monthly_tokens.focus();
}

async function submitQuota(e) {
  e.preventDefault();
  const form = e.currentTarget;
  clearFormErrors(form);
  const value = parseCount(form.monthly_tokens.value);
  if (Number.isNaN(value)) {
    showErrors("quota", { monthly_tokens: t("errWholeNumber") });
    return;
  }
  try {
    replaceUser(await api.admin.setQuota(quotaFor.id, value));
    $("quota-dialog").close();
    toast(t("quotaSaved"));
  } catch (err) {
    showApiError("quota", err);
  }
}

async function deleteUser(user) {
  const yes = await confirmDialog({
    title: t("adminDeleteTitle", { name: user.username }),
    text: t("adminDeleteText"),
    confirm: t("delete"),
  });
  if (!yes) return;
  try {
    await api.admin.deleteUser(user.id);
    toast(t("adminUserDeleted", { name: user.username }));
    if (view.items.length === 1 && view.offset > 0) view.offset = Math.max(0, view.offset - LIMIT);
    await loadUsers();
  } catch (err) {
    fail(err);
  }
}

export function initUsers() {
  $("admin-users-q").addEventListener("input", (e) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      view.q = e.target.value.trim();
      view.offset = 0;
      loadUsers();
    }, 250);
  });
  $("admin-users-prev").addEventListener("click", () => {
    view.offset = Math.max(0, view.offset - LIMIT);
    loadUsers();
  });
  $("admin-users-next").addEventListener("click", () => {
    view.offset += LIMIT;
    loadUsers();
  });
  $("admin-user-menu").addEventListener("keydown", (e) =>
    menuKeydown(e, menuItems(), (restoreFocus) => closeMenu({ restoreFocus })),
  );
  $("admin-user-role").addEventListener("click", choose(toggleRole));
  $("admin-user-disable").addEventListener("click", choose(toggleDisabled));
  $("admin-user-reset").addEventListener("click", choose(resetLink));
  $("admin-user-quota").addEventListener("click", choose(openQuota));
  $("admin-user-delete").addEventListener("click", choose(deleteUser));
  document.addEventListener("click", (e) => {
    if (menuFor && !e.target.closest("#admin-user-menu") && !menuFor.button.contains(e.target)) {
      closeMenu();
    }
  });
  $("admin-users").querySelector(".table-wrap").addEventListener("scroll", placeMenu, {
    passive: true,
  });
  $("admin-body").addEventListener("scroll", placeMenu, { passive: true });
  window.addEventListener("resize", placeMenu);
  $("quota-form").addEventListener("submit", submitQuota);
}

/** Leaving the section (or the language changed): draw again / forget the open menu. */
export function renderUsers() {
  render();
}

export function resetUsers() {
  clearTimeout(searchTimer);
  Object.assign(view, { q: "", offset: 0, total: 0, items: [] });
  $("admin-users-q").value = "";
  closeMenu();
  showText($("quota-form-error"), "");
}
