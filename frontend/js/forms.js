// Form error display shared by the log-in / sign-up screen and the account dialogs: the API's
// messages go next to the field they concern (422 `loc`, 409 conflicts), the rest under the form.
// Each form's ids follow one pattern: <prefix>-<field>, <prefix>-<field>-error, <prefix>-form-error
// (and <prefix>-<field>-hint for a field's rule, kept in its description next to the error).

import { $, showText } from "./dom.js";
import { t } from "./i18n.js";
import { on } from "./events.js";
import { conflictFields, describe, fieldErrors } from "./errors.js";

/** Hide every error message of `form` and unmark its fields. */
export function clearFormErrors(form) {
  for (const el of form.querySelectorAll(".field-error, .form-error")) showText(el, "");
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

/** Show `message` under the field `name` of the form whose ids start with `prefix`. */
export function fieldError(prefix, name, message) {
  const input = $(`${prefix}-${name}`);
  const slot = $(`${prefix}-${name}-error`);
  if (!input || !slot) return false;
  showText(slot, message);
  input.setAttribute("aria-invalid", "true");
  const hint = $(`${prefix}-${name}-hint`);
  input.setAttribute("aria-describedby", hint ? `${hint.id} ${slot.id}` : slot.id);
  return true;
}

/** {field: "Required."} for every empty required field of `form`. */
export function missingFields(form) {
  const missing = {};
  for (const input of form.querySelectorAll("input[required]")) {
    if (!input.value) missing[input.name] = t("required");
  }
  return missing;
}

/**
 * Show every message at once: `fields` ({name: message}) under their fields, `other` and
 * any field without a slot under the form; the first invalid field gets the focus.
 */
export function showErrors(prefix, fields, other = []) {
  const leftover = [...other];
  for (const [name, message] of Object.entries(fields)) {
    if (!fieldError(prefix, name, message) && !leftover.includes(message)) leftover.push(message);
  }
  showText($(`${prefix}-form-error`), leftover.join(" "));
  document.querySelector(`[id^="${prefix}-"][aria-invalid]`)?.focus();
}

/**
 * Spread an ApiError over the form: per field for a 422, the taken fields for a 409 when
 * `conflict` is set, a form message otherwise. `known` ({name: message}: what the page found
 * itself, e.g. passwords that differ) is shown alongside and wins for its fields.
 */
export function showApiError(prefix, err, { conflict = false, known = {} } = {}) {
  if (err.status === 422) {
    const { fields, other } = fieldErrors(err.detail);
    showErrors(prefix, { ...fields, ...known }, other);
  } else if (err.status === 409 && conflict) {
    const taken = Object.fromEntries(
      conflictFields(err.detail).map((name) => [
        name,
        name === "email" ? t("emailTaken") : t("usernameTaken"),
      ]),
    );
    showErrors(prefix, { ...known, ...taken });
  } else {
    showErrors(prefix, known, [describe(err)]);
  }
}

function labelToggle(button) {
  const shown = button.getAttribute("aria-pressed") === "true";
  button.textContent = shown ? t("hide") : t("show");
  button.setAttribute("aria-label", shown ? t("hidePassword") : t("showPassword"));
}

/** Wire every "Show" button next to a password field under `root`. */
export function initPasswordToggles(root) {
  for (const button of root.querySelectorAll(".show-password")) {
    labelToggle(button);
    button.addEventListener("click", () => {
      const input = $(button.getAttribute("aria-controls"));
      const show = input.type === "password";
      input.type = show ? "text" : "password";
      button.setAttribute("aria-pressed", String(show));
      labelToggle(button);
    });
  }
  on("languagechange", () => {
    for (const button of root.querySelectorAll(".show-password")) labelToggle(button);
  });
}

/** Put every password field under `root` back to hidden (a form that is reset or reopened). */
export function hidePasswords(root) {
  for (const button of root.querySelectorAll(".show-password[aria-pressed=true]")) {
    $(button.getAttribute("aria-controls")).type = "password";
    button.setAttribute("aria-pressed", "false");
    labelToggle(button);
  }
}
