// Turns an ApiError into words for the user, always in the UI's language: by HTTP status, and
// for a 422 by each item's `loc` and `type` (the API's `msg` is English for developers and is
// never shown). A field's message is short because the field's hint already says the rule.

import { t } from "./i18n.js";

// The fields whose minimum length is a rule the user must meet (the hint says 8 characters);
// any other field's minimum is 1, so "too short" there means empty.
const PASSWORD_FIELDS = new Set(["password", "new_password"]);

/** The body field a 422 item is about (loc ["body", name, …]), or null. */
function fieldOf(item) {
  const loc = Array.isArray(item?.loc) ? item.loc : [];
  return loc[0] === "body" && typeof loc[1] === "string" ? loc[1] : null;
}

/** One 422 item {loc, msg, type} in the user's words. */
export function fieldMessage(item) {
  const field = fieldOf(item);
  const msg = String(item?.msg ?? "");
  switch (item?.type) {
    case "missing":
      return t("required");
    case "string_too_short":
      return PASSWORD_FIELDS.has(field) ? t("errTooShort") : t("errEmpty");
    case "string_too_long":
      return field === "message" ? t("chatTooLong") : t("errTooLong");
    case "int_parsing":
    case "int_type":
      return t("errWholeNumber");
    case "value_error":
      // Our own validators (app/schemas.py) raise these; the text tells them apart.
      if (/passwords do not match/i.test(msg)) return t("passwordsDiffer");
      if (/email domains/i.test(msg)) return t("errEmailDomain");
      if (field === "email") return t("errEmail");
      if (field === "username") return t("errUsername");
      if (/NUL/.test(msg)) return t("errBadCharacters");
      if (/must not be empty/i.test(msg)) return t("errEmpty");
      return t("errInvalid");
    default:
      return t("errInvalid");
  }
}

/**
 * Split a 422 detail list into {field: message} (the first message per body field) and the
 * other messages, each translated; a message is listed once however often it comes.
 */
export function fieldErrors(detail) {
  const fields = {};
  const other = [];
  for (const item of Array.isArray(detail) ? detail : []) {
    const field = fieldOf(item);
    const message = fieldMessage(item);
    if (field && !(field in fields)) fields[field] = message;
    else if (!other.includes(message) && !Object.values(fields).includes(message)) {
      other.push(message);
    }
  }
  return { fields, other };
}

/** A 422's messages as one sentence list, each once. */
function validationText(detail) {
  const { fields, other } = fieldErrors(detail);
  return [...new Set([...Object.values(fields), ...other])].join(" ") || t("errInvalid");
}

/**
 * Which fields a 409 from POST /register names as taken ("username and email already
 * registered"; the fallback after a lost race says "username or email").
 */
export function conflictFields(detail) {
  const text = typeof detail === "string" ? detail : "";
  const named = ["username", "email"].filter((field) => text.includes(field));
  return named.length ? named : ["username"];
}

/** Message for errors any screen can meet, by status. */
export function describe(err) {
  const status = err?.status;
  switch (status) {
    case 0:
      return t("networkError");
    case 401:
      return t("errUnauthorized");
    case 403:
      return t("errForbidden");
    case 404:
      return t("notFound");
    case 409:
      return t("errConflict");
    case 413:
      return t("errTooLarge");
    case 422:
      return validationText(err.detail);
    case 429:
      return err.retryAfter ? t("throttled", { seconds: err.retryAfter }) : t("throttledNoTime");
    default:
      if (status >= 500) return t("errServer", { status });
      return t("genericError", { status: status ?? "?" });
  }
}

/** Message for a failed chat turn, by status (see the chat table in docs/api.md). */
export function describeChat(err) {
  switch (err?.status) {
    case 0:
      return err.detail === "network" ? t("networkError") : t("connectionLost");
    case 409:
      return t("chatBusy");
    case 413:
      return t("chatTooLong");
    case 429:
      return err.retryAfter
        ? t("chatThrottled", { seconds: err.retryAfter })
        : t("throttledNoTime");
    case 502:
      return t("modelFailed");
    case 503:
      return t("modelBusy");
    case 504:
      return t("modelTimeout");
    default:
      return describe(err);
  }
}

/** Why POST /register refused (403: the site's sign-up policy or the invite), in plain words. */
export function describeSignup(err) {
  if (err?.status !== 403) return describe(err);
  const detail = String(err.detail ?? "");
  if (/closed/i.test(detail)) return t("signupClosed");
  if (/invite is required/i.test(detail)) return t("signupInviteOnly");
  if (/invite/i.test(detail)) return t("inviteInvalid");
  return describe(err);
}
