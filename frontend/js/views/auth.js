// Log in / sign up screen: client-side checks for the obvious, the API's own messages inline
// next to the field they concern (422 loc, 409 conflicts), throttling with its retry time.
// Also: the second step of a two-factor log-in (a code field when the server asks for one),
// the sign-up policy from GET /config (closed, invite only, email domains), an invite link
// (#/invite/<token>) and a password reset link (#/reset/<token>).

import * as api from "../api.js";
import { set, state, subscribe } from "../state.js";
import { emit, on } from "../events.js";
import { t } from "../i18n.js";
import { $, showText } from "../dom.js";
import { describeSignup } from "../errors.js";
import {
  clearFormErrors,
  hidePasswords,
  initPasswordToggles,
  missingFields,
  showApiError,
  showErrors,
} from "../forms.js";

// The invite token the page was opened with (#/invite/<token>), sent with the sign-up.
let inviteToken = null;
// The reset link's token while its form shows (#/reset/<token>).
let resetToken = null;

function signup() {
  return state.config?.signup ?? { policy: "open", email_domains: [] };
}

/** No sign-up form: the site is closed, or takes invites and the page has none. */
function signupBlocked() {
  const { policy } = signup();
  return policy === "closed" || (policy === "invite" && !inviteToken);
}

function renderPolicy() {
  const { policy, email_domains: domains = [] } = signup();
  const blocked = signupBlocked();
  $("register-closed-text").textContent =
    policy === "closed" ? t("signupClosed") : t("signupInviteOnly");
  $("tab-register").setAttribute("aria-controls", blocked ? "register-closed" : "register-form");
  if ($("tab-register").getAttribute("aria-selected") === "true" && !resetToken) {
    $("register-form").hidden = blocked;
    $("register-closed").hidden = !blocked;
  }
  $("register-invite-notice").hidden = !inviteToken;
  const hint = $("register-email-hint");
  showText(hint, domains.length ? t("signupDomains", { domains: domains.join(", ") }) : "");
  const email = $("register-email");
  if (!email.hasAttribute("aria-invalid")) {
    if (domains.length) email.setAttribute("aria-describedby", hint.id);
    else email.removeAttribute("aria-describedby");
  }
}

function selectTab(which) {
  const login = which === "login";
  $("tab-login").setAttribute("aria-selected", String(login));
  $("tab-register").setAttribute("aria-selected", String(!login));
  $("login-form").hidden = !login;
  $("register-form").hidden = login || signupBlocked();
  $("register-closed").hidden = login || !signupBlocked();
  showText($("auth-notice"), "");
  if (login) $("login-username").focus();
  else if (!signupBlocked()) $("register-username").focus();
}

// -- log in, with the two-factor step -------------------------------------------------------

function totpStep(shown) {
  $("login-totp-field").hidden = !shown;
  if (!shown) $("login-totp").value = "";
}

async function submitLogin(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearFormErrors(form);
  const asking = !$("login-totp-field").hidden;
  const totp = asking ? form.totp.value.trim() : "";
  const missing = missingFields(form);
  if (asking && !totp) missing.totp = t("required");
  if (Object.keys(missing).length) {
    showErrors("login", missing);
    return;
  }
  const button = form.querySelector("[type=submit]");
  button.disabled = true;
  try {
    const session = await api.login(form.username.value.trim(), form.password.value, totp);
    form.reset();
    hidePasswords(form);
    totpStep(false);
    emit("login", { session, registered: false });
  } catch (err) {
    if (err.status === 401 && err.totpRequired && !totp) {
      // The password was right; the account wants its second factor.
      totpStep(true);
      showText($("auth-notice"), t("totpAsk"));
      form.totp.focus();
    } else if (err.status === 401 && totp && (err.totpRequired || /two-factor/i.test(err.detail))) {
      form.totp.value = "";
      showErrors("login", { totp: t("totpWrongCode") });
    } else if (err.status === 401) {
      totpStep(false);
      showText($("login-form-error"), t("wrongCredentials"));
    } else if (err.status === 403 && /disabled/i.test(String(err.detail))) {
      showText($("login-form-error"), t("accountDisabled"));
    } else showApiError("login", err);
  } finally {
    button.disabled = false;
  }
}

// -- sign up ------------------------------------------------------------------------------

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
  if (inviteToken) fields.invite = inviteToken;
  const button = form.querySelector("[type=submit]");
  button.disabled = true;
  try {
    await api.register(fields);
    // Straight in: nobody wants to type the password they just chose a second time.
    const session = await api.login(fields.username, fields.password);
    form.reset();
    hidePasswords(form);
    inviteToken = null;
    emit("login", { session, registered: true });
  } catch (err) {
    if (err.status === 403) {
      showErrors("register", known, [describeSignup(err)]);
      // The policy may have changed since the page loaded: the tab follows the server's.
      api.getConfig().then((config) => set({ config }), () => {});
    } else showApiError("register", err, { conflict: true, known });
  } finally {
    button.disabled = false;
  }
}

// -- set a new password from a reset link ------------------------------------------------------

async function submitReset(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearFormErrors(form);
  const known = missingFields(form);
  const password = form.new_password.value;
  if (password && password.length < 8) known.new_password = t("errTooShort");
  if (password && password !== form.new_password_confirm.value) {
    known.new_password_confirm = t("passwordsDiffer");
  }
  // The API takes no confirmation: passwords that differ are never sent.
  if (Object.keys(known).length) {
    showErrors("reset", known);
    return;
  }
  const button = form.querySelector("[type=submit]");
  button.disabled = true;
  try {
    await api.resetPassword(resetToken, password);
    leaveReset();
    showAuthView(t("resetDone"));
  } catch (err) {
    if (err.status === 400) showErrors("reset", {}, [t("resetInvalid")]);
    else showApiError("reset", err);
  } finally {
    button.disabled = false;
  }
}

function leaveReset() {
  resetToken = null;
  const form = $("reset-form");
  form.reset();
  hidePasswords(form);
  if (/^#\/reset\//.test(location.hash)) history.replaceState(null, "", location.pathname);
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
  $("reset-form").addEventListener("submit", submitReset);
  $("reset-back").addEventListener("click", () => {
    leaveReset();
    showAuthView();
  });
  initPasswordToggles($("auth-view"));
  subscribe(["config"], renderPolicy);
  on("languagechange", renderPolicy);
  renderPolicy();
}

/** Show the auth screen, optionally with a notice (session ended, account deleted). */
export function showAuthView(notice = "") {
  $("auth-view").hidden = false;
  $("app-view").hidden = true;
  for (const form of [$("login-form"), $("register-form"), $("reset-form")]) clearFormErrors(form);
  totpStep(false);
  showText($("auth-notice"), notice);
  $("auth-view").querySelector(".auth-tabs").hidden = false;
  $("reset-form").hidden = true;
  $("login-form").hidden = false;
  $("register-form").hidden = true;
  $("register-closed").hidden = true;
  $("tab-login").setAttribute("aria-selected", "true");
  $("tab-register").setAttribute("aria-selected", "false");
  renderPolicy();
  $("login-username").focus();
}

/** #/invite/<token>: the sign-up tab, whose form sends the invite. */
export function showInvite(token) {
  inviteToken = token;
  showAuthView();
  selectTab("register");
  renderPolicy();
}

/** #/reset/<token>: the set-a-new-password form alone. */
export function showReset(token) {
  showAuthView();
  resetToken = token;
  $("auth-view").querySelector(".auth-tabs").hidden = true;
  $("login-form").hidden = true;
  $("reset-form").hidden = false;
  $("reset-new_password").focus();
}
