// Form error display shared by the log-in / sign-up screen and the account dialogs: the API's
// messages go next to the field they concern (422 `loc`, 409 conflicts), the rest under the form.
// Each form's ids follow one pattern: <prefix>-<field>, <prefix>-<field>-error, <prefix>-form-error.

import { $, showText } from "./dom.js";
import { describe, fieldErrors } from "./errors.js";

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
  input.setAttribute("aria-describedby", slot.id);
  return true;
}

/** Spread an ApiError over the form: per-field for 422, a form message otherwise. */
export function showApiError(prefix, err, conflictField = null) {
  const formError = $(`${prefix}-form-error`);
  if (err.status === 422) {
    const { fields, other } = fieldErrors(err.detail);
    const leftover = [...other];
    for (const [name, msg] of Object.entries(fields)) {
      if (!fieldError(prefix, name, msg)) leftover.push(msg);
    }
    showText(formError, leftover.join(" "));
  } else if (err.status === 409 && conflictField) {
    const detail = typeof err.detail === "string" ? err.detail : describe(err);
    const field = /e-?mail/i.test(detail) ? "email" : conflictField;
    fieldError(prefix, field, detail);
  } else {
    showText(formError, describe(err));
  }
  document.querySelector(`[id^="${prefix}-"][aria-invalid]`)?.focus();
}
