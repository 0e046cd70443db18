// The administration (#/admin/<section>, shown to admins only): a nav of five sections in
// place of the chat column, the sidebar left as it is. Each section lives in js/admin/; this
// module shows one, loads its data when it opens, and leaves when the user is no admin.

import { state, subscribe } from "../state.js";
import { emit, on } from "../events.js";
import { $ } from "../dom.js";
import { ADMIN_SECTIONS } from "../routes.js";
import { initLinkDialog } from "../admin/shared.js";
import { initUsers, loadUsers, renderUsers, resetUsers } from "../admin/users.js";
import { initInvites, loadInvites, renderInvites } from "../admin/invites.js";
import { loadUsage, renderUsage } from "../admin/usage.js";
import { initAudit, loadAudit, renderAudit } from "../admin/audit.js";
import { initSettings, loadSettings } from "../admin/settings.js";

const LOAD = {
  users: loadUsers,
  invites: loadInvites,
  usage: loadUsage,
  audit: () => loadAudit(),
  settings: loadSettings,
};
const RENDER = {
  users: renderUsers,
  invites: renderInvites,
  usage: renderUsage,
  audit: renderAudit,
  settings: () => {},
};
let current = null; // the section on screen, or null when the administration is hidden

function renderBanner() {
  $("admin-totp-banner").hidden = !state.user?.totp_required;
}

/**
 * The current section, loaded afresh; or, while the server wants this admin to turn on
 * two-factor sign-in first (it refuses /admin/* until then), only the banner saying so.
 */
function showSection() {
  renderBanner();
  const blocked = Boolean(state.user?.totp_required);
  for (const name of ADMIN_SECTIONS) $(`admin-${name}`).hidden = blocked || name !== current;
  if (!blocked) LOAD[current]();
}

/** Show `section` of the administration instead of the chat. */
export function showAdmin(section) {
  const entering = current === null;
  current = ADMIN_SECTIONS.includes(section) ? section : "users";
  $("chat").hidden = true;
  $("admin").hidden = false;
  document.querySelector(".admin-prefs-slot").append($("prefs"));
  for (const link of $("admin-nav").querySelectorAll("a")) {
    if (link.dataset.section === current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  // The drawer (phone width) the account menu was opened in has done its job.
  if (document.body.classList.contains("drawer-open")) $("scrim").click();
  $("admin-body").scrollTop = 0;
  showSection();
  if (entering) $("admin-nav").querySelector("[aria-current]").focus();
}

/** Back to the chat column. */
export function hideAdmin() {
  if (current === null) return;
  current = null;
  $("admin").hidden = true;
  $("chat").hidden = false;
  document.querySelector(".header-prefs-slot").append($("prefs"));
}

export const adminShown = () => current !== null;

export function initAdminView() {
  initLinkDialog();
  initUsers();
  initInvites();
  initAudit();
  initSettings();
  // At phone width the sidebar is a drawer; the chat header's button opens it.
  $("admin-open-sidebar").addEventListener("click", () => $("open-sidebar").click());
  $("admin-totp-enrol").addEventListener("click", () => emit("totp"));
  let wasBlocked = false;
  subscribe(["user"], () => {
    renderBanner();
    const blocked = Boolean(state.user?.totp_required);
    if (current !== null && wasBlocked && !blocked && state.user?.role === "admin") showSection();
    wasBlocked = blocked;
    if (!state.user) {
      resetUsers();
      hideAdmin();
    } else if (current !== null && state.user.role !== "admin") {
      location.hash = "#/"; // demoted: the router takes the chat back
    }
  });
  on("languagechange", () => {
    if (current) RENDER[current]();
  });
}
