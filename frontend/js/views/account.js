// Account menu: the administration (admins), export my conversations, change password,
// two-factor sign-in (views/totp.js, through the "totp" event), delete my account, log out.

import * as api from "../api.js";
import { state, subscribe } from "../state.js";
import { emit, on } from "../events.js";
import { t } from "../i18n.js";
import { $, h, menuKeydown, toast } from "../dom.js";
import { describe } from "../errors.js";
import {
  clearFormErrors,
  hidePasswords,
  initPasswordToggles,
  missingFields,
  showApiError,
  showErrors,
} from "../forms.js";

function menuItems() {
  return [...$("account-menu").querySelectorAll("[role=menuitem]:not([hidden])")];
}

function openMenu() {
  $("account-menu").hidden = false;
  $("account-button").setAttribute("aria-expanded", "true");
  menuItems()[0].focus();
}

function closeMenu({ focusButton = false } = {}) {
  if ($("account-menu").hidden) return;
  $("account-menu").hidden = true;
  $("account-button").setAttribute("aria-expanded", "false");
  if (focusButton) $("account-button").focus();
}

function onMenuKey(e) {
  menuKeydown(e, menuItems(), (focusButton) => closeMenu({ focusButton }));
}

function resetForm(form) {
  form.reset();
  clearFormErrors(form);
  hidePasswords(form);
  renderAccount(); // reset() emptied the hidden username field
}

function openDialog(id) {
  const dialog = $(id);
  resetForm(dialog.querySelector("form"));
  dialog.showModal();
  dialog.querySelector("input:not(.account-username)")?.focus();
}

async function exportConversations() {
  try {
    const data = await api.exportData();
    const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
    const url = URL.createObjectURL(blob);
    const day = new Date().toISOString().slice(0, 10);
    const link = h("a", { href: url, download: `chat-export-${state.user?.username ?? "me"}-${day}.json` });
    document.body.append(link);
    link.click();
    link.remove();
    // Give the download a moment to start before the URL stops existing.
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    toast(t("exported"));
  } catch (err) {
    toast(describe(err));
  }
}

async function submitPassword(e) {
  e.preventDefault();
  const form = e.currentTarget;
  clearFormErrors(form);
  const known = missingFields(form);
  if (form.new_password.value && form.new_password.value !== form.new_password_confirm.value) {
    known.new_password_confirm = t("passwordsDiffer");
  }
  // The API checks the new password's rules first (a 422 names every field's problem), so it
  // is asked whenever one of those is wrong; an empty current password alone is never sent,
  // as it could only count as a wrong attempt.
  const names = Object.keys(known);
  if (names.length && names.every((name) => name === "current_password")) {
    showErrors("pw", known);
    return;
  }
  try {
    await api.changePassword({
      current_password: form.current_password.value,
      new_password: form.new_password.value,
      new_password_confirm: form.new_password_confirm.value,
    });
    $("password-dialog").close();
    toast(t("passwordChanged"));
  } catch (err) {
    if (err.status === 401) showErrors("pw", { ...known, current_password: t("wrongPassword") });
    else showApiError("pw", err, { known });
  }
}

async function submitDeleteAccount(e) {
  e.preventDefault();
  const form = e.currentTarget;
  clearFormErrors(form);
  if (!form.password.value) {
    showErrors("da", missingFields(form));
    return;
  }
  try {
    await api.deleteAccount(form.password.value);
    $("delete-account-dialog").close();
    emit("logout", { notice: t("accountDeleted") });
  } catch (err) {
    if (err.status === 401) showErrors("da", { password: t("wrongPassword") });
    else showApiError("da", err);
  }
}

function renderAccount() {
  const name = state.user?.username ?? "";
  $("account-name").textContent = name;
  $("account-avatar").textContent = name.slice(0, 1).toUpperCase();
  for (const input of document.querySelectorAll(".account-username")) input.value = name;
  $("account-button").setAttribute("aria-label", `${t("accountMenu")}: ${name}`);
  $("menu-admin").hidden = state.user?.role !== "admin";
}

export function initAccountMenu() {
  $("account-button").addEventListener("click", () =>
    $("account-menu").hidden ? openMenu() : closeMenu(),
  );
  $("account-menu").addEventListener("keydown", onMenuKey);
  document.addEventListener("click", (e) => {
    if (!e.target.closest(".account")) closeMenu();
  });
  const choose = (fn) => () => {
    closeMenu();
    fn();
  };
  $("menu-admin").addEventListener("click", choose(() => (location.hash = "#/admin/users")));
  $("menu-totp").addEventListener("click", choose(() => emit("totp")));
  $("menu-export").addEventListener("click", choose(exportConversations));
  $("menu-password").addEventListener("click", choose(() => openDialog("password-dialog")));
  $("menu-delete-account").addEventListener(
    "click",
    choose(() => openDialog("delete-account-dialog")),
  );
  $("menu-logout").addEventListener(
    "click",
    choose(async () => {
      await api.logout().catch(() => {});
      emit("logout", { notice: "" });
    }),
  );
  $("password-form").addEventListener("submit", submitPassword);
  initPasswordToggles($("password-dialog"));
  $("delete-account-form").addEventListener("submit", submitDeleteAccount);
  for (const button of document.querySelectorAll("dialog [data-close]")) {
    button.addEventListener("click", () => button.closest("dialog").close());
  }
  subscribe(["user"], renderAccount);
  on("languagechange", renderAccount);
  renderAccount();
}
