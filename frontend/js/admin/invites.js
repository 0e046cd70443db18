// Administration → Invites: create one (uses, expiry, note; its link is shown once, with
// Copy), the list with uses, who used it, expiry and state, and Revoke.

import * as api from "../api.js";
import { t } from "../i18n.js";
import { $, confirmDialog, h, toast } from "../dom.js";
import { clearFormErrors, showApiError, showErrors } from "../forms.js";
import { inviteState, parseCount } from "./format.js";
import { emptyRow, fail, num, showLink, td, when } from "./shared.js";

const STATE_WORDS = {
  active: "inviteActive",
  expired: "inviteExpired",
  usedUp: "inviteUsedUp",
  revoked: "inviteRevoked",
};
let items = [];
let total = 0;

export async function loadInvites() {
  try {
    const page = await api.admin.invites();
    items = page.items;
    total = page.total;
    render();
  } catch (err) {
    fail(err);
  }
}

function row(invite) {
  const status = inviteState(invite);
  const label = invite.note || `#${invite.id}`;
  return h(
    "tr",
    { class: status === "active" ? null : "is-disabled", "data-invite": String(invite.id) },
    h("th", { scope: "row" }, invite.note || h("span", { class: "cell-note" }, `#${invite.id}`)),
    td(t("inviteUsesOf", { uses: num(invite.uses), max: num(invite.max_uses) }), "num nowrap"),
    td(invite.used_by?.length ? invite.used_by.join(", ") : "—"),
    td([when(invite.created_at), invite.created_by ? h("span", { class: "cell-note" }, invite.created_by) : null], "nowrap"),
    td(when(invite.expires_at), "nowrap"),
    td(h("span", { class: `badge badge-${status}` }, t(STATE_WORDS[status]))),
    td(
      invite.revoked
        ? null
        : h(
            "button",
            {
              type: "button",
              class: "secondary-button small-button",
              "aria-label": t("inviteRevokeLabel", { note: label }),
              onclick: () => revoke(invite),
            },
            t("inviteRevoke"),
          ),
      "actions",
    ),
  );
}

function render() {
  const rows = items.map(row);
  $("admin-invites-rows").replaceChildren(...(rows.length ? rows : [emptyRow(7, t("invitesNone"))]));
  $("admin-invites-caption").textContent = total === 1 ? t("invitesCaptionOne") : t("invitesCaption", { count: num(total) });
}

async function revoke(invite) {
  const yes = await confirmDialog({
    title: t("inviteRevokeTitle"),
    text: t("inviteRevokeText"),
    confirm: t("inviteRevoke"),
  });
  if (!yes) return;
  try {
    await api.admin.revokeInvite(invite.id);
    toast(t("inviteRevoked2"));
    await loadInvites();
  } catch (err) {
    fail(err);
  }
}

async function create(e) {
  e.preventDefault();
  const form = e.currentTarget;
  clearFormErrors(form);
  const uses = parseCount(form.max_uses.value, Number.NaN);
  if (Number.isNaN(uses) || uses < 1 || uses > 1000) {
    showErrors("invite", { max_uses: t("errInvalid") });
    return;
  }
  const fields = { max_uses: uses, expires_in_hours: Number(form.expires_in_hours.value) };
  if (form.note.value.trim()) fields.note = form.note.value.trim();
  const button = form.querySelector("[type=submit]");
  button.disabled = true;
  try {
    const invite = await api.admin.createInvite(fields);
    form.note.value = "";
    showLink({
      title: t("inviteLinkTitle"),
      text: t("inviteLinkText"),
      url: invite.url,
      expiresAt: invite.expires_at,
    });
    await loadInvites();
  } catch (err) {
    showApiError("invite", err);
  } finally {
    button.disabled = false;
  }
}

export function initInvites() {
  $("invite-form").addEventListener("submit", create);
}

export const renderInvites = () => render();
