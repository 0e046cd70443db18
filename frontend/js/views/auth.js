// Log in / sign up screen: client-side checks for the obvious, the API's own messages inline
// next to the field they concern (422 loc, 409 conflicts), throttling with its retry time.

import * as api from "../api.js";
import { emit } from "../events.js";
import { t } from "../i18n.js";
import { $, showText } from "../dom.js";
import {
  clearFormErrors,
  hidePasswords,
  initPasswordToggles,
  missingFields,
  showApiError,
  showErrors,
} from "../forms.js";

function selectTab(which) {
  const login = which === "login";
  $("tab-login").setAttribute("aria-selected", String(login));
  $("tab-register").setAttribute("aria-selected", String(!login));
  $("login-form").hidden = !login;
  $("register-form").hidden = login;
  showText($("auth-notice"), "");
  $(login ? "login-username" : "register-username").focus();
}

async function submitLogin(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearFormErrors(form);
  const missing = missingFields(form);
  if (Object.keys(missing).length) {
    showErrors("login", missing);
    return;
  }
  const button = form.querySelector("[type=submit]");
  button.disabled = true;
  try {
    const session = await api.login(form.username.value.trim(), form.password.value);
    form.reset();
    hidePasswords(form);
    emit("login", { session, registered: false });
  } catch (err) {
    if (err.status === 401) showText($("login-form-error"), t("wrongCredentials"));
    else showApiError("login", err);
  } finally {
    button.disabled = false;
  }
}

async function submitRegister(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearFormErrors(form);
  // What the page can tell itself. The form is still sent: the API's answer (a 422, as these
  // are its rules too) names every other field's problem, so all of them show at once.
  const known = missingFields(form);
  if (form.password.value && form.password.value !== form.password_confirm.value) {
    known.password_confirm = t("passwordsDiffer");
  }
  const fields = {
    username: form.username.value.trim(),
    email: form.email.value.trim(),
    password: form.password.value,
    password_confirm: form.password_confirm.value,
  };
  const button = form.querySelector("[type=submit]");
  button.disabled = true;
  try {
    await api.register(fields);
    // Straight in: nobody wants to type the password they just chose a second time.
    const session = await api.login(fields.username, fields.password);
    form.reset();
    hidePasswords(form);
    emit("login", { session, registered: true });
  } catch (err) {
    showApiError("register", err, { conflict: true, known });
  } finally {
    button.disabled = false;
  }
}

export function initAuthView() {
  $("tab-login").addEventListener("click", () => selectTab("login"));
  $("tab-register").addEventListener("click", () => selectTab("register"));
  // Arrow keys move between the two tabs, as the ARIA tabs pattern expects.
  for (const tab of [$("tab-login"), $("tab-register")]) {
    tab.addEventListener("keydown", (e) => {
      if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
        selectTab(tab.id === "tab-login" ? "register" : "login");
        $(tab.id === "tab-login" ? "tab-register" : "tab-login").focus();
      }
    });
  }
  $("login-form").addEventListener("submit", submitLogin);
  $("register-form").addEventListener("submit", submitRegister);
  initPasswordToggles($("auth-view"));
}

/** Show the auth screen, optionally with a notice (session ended, account deleted). */
export function showAuthView(notice = "") {
  $("auth-view").hidden = false;
  $("app-view").hidden = true;
  for (const form of [$("login-form"), $("register-form")]) clearFormErrors(form);
  showText($("auth-notice"), notice);
  $("login-form").hidden = false;
  $("register-form").hidden = true;
  $("tab-login").setAttribute("aria-selected", "true");
  $("tab-register").setAttribute("aria-selected", "false");
  $("login-username").focus();
}
