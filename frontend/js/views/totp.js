// Two-factor sign-in (the account menu's "Two-factor sign-in", or the administration's banner
// through the "totp" event): enrol — password, then the QR code (the API's SVG as an <img>
// data: URL, never markup in the page) and the key as text, then a code — and the recovery
// codes shown once with Copy and Download; or, when it is on, turn it off.

import * as api from "../api.js";
import { set, state } from "../state.js";
import { on } from "../events.js";
import { t } from "../i18n.js";
import { $, h, toast } from "../dom.js";
import { copyText } from "../clipboard.js";
import { clearFormErrors, missingFields, showApiError, showErrors } from "../forms.js";

const STEPS = ["totp-setup-form", "totp-confirm-form", "totp-codes", "totp-disable-form"];
let codes = [];

function step(id) {
  for (const other of STEPS) $(other).hidden = other !== id;
  const form = $(id);
  if (form.tagName === "FORM") clearFormErrors(form);
  form.querySelector("input:not([readonly]):not(.account-username)")?.focus();
}

/** The SVG text as an image URL: base64 of its UTF-8 bytes. */
function svgDataUrl(svg) {
  const bytes = new TextEncoder().encode(svg);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}

function openTotp() {
  codes = [];
  for (const id of STEPS) if ($(id).tagName === "FORM") $(id).reset();
  for (const input of $("totp-dialog").querySelectorAll(".account-username")) {
    input.value = state.user?.username ?? "";
  }
  $("totp-qr").removeAttribute("src");
  $("totp-secret").value = "";
  $("totp-dialog").showModal();
  step(state.user?.totp_enabled ? "totp-disable-form" : "totp-setup-form");
}

async function submitSetup(e) {
  e.preventDefault();
  const form = e.currentTarget;
  clearFormErrors(form);
  if (!form.password.value) {
    showErrors("ts", missingFields(form));
    return;
  }
  try {
    const setup = await api.totpSetup(form.password.value);
    form.reset();
    $("totp-qr").src = svgDataUrl(setup.qr_svg);
    $("totp-secret").value = setup.secret;
    step("totp-confirm-form");
  } catch (err) {
    if (err.status === 401) showErrors("ts", { password: t("wrongPassword") });
    else showApiError("ts", err);
  }
}

async function submitConfirm(e) {
  e.preventDefault();
  const form = e.currentTarget;
  clearFormErrors(form);
  const code = form.code.value.replace(/\s/g, "");
  if (!code) {
    showErrors("tc", { code: t("required") });
    return;
  }
  try {
    const result = await api.totpEnable(code);
    codes = result.recovery_codes ?? [];
    $("totp-codes-list").replaceChildren(...codes.map((c) => h("li", { class: "mono" }, c)));
    set({ user: { ...state.user, totp_enabled: true, totp_required: false } });
    step("totp-codes");
    $("totp-codes-copy").focus();
  } catch (err) {
    if ([400, 401, 422].includes(err.status)) {
      form.code.value = "";
      showErrors("tc", { code: t("totpWrongCode") });
    } else showApiError("tc", err);
  }
}

async function submitDisable(e) {
  e.preventDefault();
  const form = e.currentTarget;
  clearFormErrors(form);
  const missing = missingFields(form);
  if (Object.keys(missing).length) {
    showErrors("td", missing);
    return;
  }
  try {
    await api.totpDisable(form.password.value, form.code.value.replace(/\s/g, ""));
    set({ user: { ...state.user, totp_enabled: false } });
    $("totp-dialog").close();
    toast(t("totpDisabled"));
    // REQUIRE_ADMIN_TOTP may apply again: /me says so (the administration's banner).
    api.me().then(
      (me) => state.user && set({ user: { ...state.user, totp_required: Boolean(me.totp_required) } }),
      () => {},
    );
  } catch (err) {
    if (err.status === 401 || err.status === 400) {
      const aboutCode = /two-factor|code/i.test(String(err.detail));
      if (aboutCode) form.code.value = "";
      showErrors("td", aboutCode ? { code: t("totpWrongCode") } : { password: t("wrongPassword") });
    } else showApiError("td", err);
  }
}

function codesText() {
  return `${codes.join("\n")}\n`;
}

export function initTotp() {
  $("totp-setup-form").addEventListener("submit", submitSetup);
  $("totp-confirm-form").addEventListener("submit", submitConfirm);
  $("totp-disable-form").addEventListener("submit", submitDisable);
  $("totp-secret-copy").addEventListener("click", (e) => copyLabel(e.currentTarget, $("totp-secret").value));
  $("totp-codes-copy").addEventListener("click", (e) => copyLabel(e.currentTarget, codesText()));
  $("totp-codes-download").addEventListener("click", () => {
    const url = URL.createObjectURL(new Blob([codesText()], { type: "text/plain" }));
    const link = h("a", { href: url, download: `recovery-codes-${state.user?.username ?? "me"}.txt` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  });
  // The codes are shown once: closing the dialog forgets them.
  $("totp-dialog").addEventListener("close", () => {
    codes = [];
    $("totp-codes-list").replaceChildren();
  });
  on("totp", openTotp);
}

/** Copy, and say so on the button (a toast would sit under the open dialog). */
async function copyLabel(button, text) {
  const label = button.querySelector("[data-i18n]");
  label.textContent = (await copyText(text)) ? t("copied") : t("copyFailedShort");
  setTimeout(() => (label.textContent = t("copy")), 2000);
}
