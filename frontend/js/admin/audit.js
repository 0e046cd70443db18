// Administration → Audit log: newest first, filtered by event and username, "Load more"
// pages back with before_id.

import * as api from "../api.js";
import { t } from "../i18n.js";
import { $, h } from "../dom.js";
import { detailsText } from "./format.js";
import { fail, td, when } from "./shared.js";

// The names app/accounts/audit.py records (docs: admin-contract), for the filter.
export const AUDIT_EVENTS = [
  "register",
  "login_ok",
  "login_failed",
  "throttled",
  "refresh_token_reuse",
  "password_changed",
  "account_deleted",
  "password_reset_used",
  "totp_enabled",
  "totp_disabled",
  "admin.role_changed",
  "admin.user_disabled",
  "admin.user_enabled",
  "admin.user_deleted",
  "admin.password_reset_link",
  "admin.invite_created",
  "admin.invite_revoked",
  "admin.settings_changed",
  "admin.quota_changed",
];
const LIMIT = 50;
let items = [];
let hasMore = false;
let filter = { event: "", username: "" };
let seq = 0;

function fillEvents() {
  const select = $("audit-event");
  const chosen = select.value;
  select.replaceChildren(
    h("option", { value: "" }, t("auditAll")),
    ...AUDIT_EVENTS.map((name) => h("option", { value: name }, name)),
  );
  select.value = chosen;
}

export async function loadAudit({ more = false } = {}) {
  const mine = ++seq;
  try {
    const beforeId = more && items.length ? items[items.length - 1].id : null;
    const page = await api.admin.audit({ ...filter, beforeId, limit: LIMIT });
    if (mine !== seq) return;
    items = more ? [...items, ...page.items] : page.items;
    hasMore = page.has_more;
    render();
  } catch (err) {
    if (mine === seq) fail(err);
  }
}

function row(event) {
  return h(
    "tr",
    { "data-event": event.event },
    h("th", { scope: "row", class: "nowrap" }, when(event.created_at)),
    td(h("code", {}, event.event)),
    td(event.actor ?? "—"),
    td(event.target ?? "—"),
    td(event.ip ?? "—", "nowrap"),
    td(detailsText(event.details), "details"),
  );
}

function render() {
  $("admin-audit-rows").replaceChildren(...items.map(row));
  $("admin-audit-empty").hidden = items.length > 0;
  const more = $("audit-more");
  const hadFocus = document.activeElement === more;
  more.hidden = !hasMore;
  // The last page came: the button goes, and focus stays in the section (on the table's frame).
  if (hadFocus && !hasMore) $("admin-audit").querySelector(".table-wrap").focus();
}

export function initAudit() {
  fillEvents();
  $("audit-filter").addEventListener("submit", (e) => {
    e.preventDefault();
    filter = { event: $("audit-event").value, username: $("audit-username").value.trim() };
    loadAudit();
  });
  $("audit-event").addEventListener("change", () => $("audit-filter").requestSubmit());
  $("audit-more").addEventListener("click", () => loadAudit({ more: true }));
}

export function renderAudit() {
  fillEvents();
  render();
}
