// Turns an ApiError into words for the user, and a 422's {loc, msg} list into field messages.

import { t } from "./i18n.js";

/** Message for errors any screen can meet: network, throttling, anything unexpected. */
export function describe(err) {
  if (err?.status === 0) return t("networkError");
  if (err?.status === 429) {
    return err.retryAfter ? t("throttled", { seconds: err.retryAfter }) : t("throttledNoTime");
  }
  if (typeof err?.detail === "string" && err.detail) return err.detail;
  return t("genericError", { status: err?.status ?? "?" });
}

/**
 * Split a 422 detail list into {field: message} (loc[1] is the body field) and the rest.
 * FastAPI's msg for model validators reads "Value error, passwords do not match"; the prefix
 * is an implementation detail the user doesn't need.
 */
export function fieldErrors(detail) {
  const fields = {};
  const other = [];
  for (const item of Array.isArray(detail) ? detail : []) {
    const msg = String(item.msg ?? "").replace(/^Value error, /, "");
    const field = Array.isArray(item.loc) && item.loc[0] === "body" ? item.loc[1] : null;
    if (field && typeof field === "string" && !(field in fields)) fields[field] = msg;
    else other.push(msg);
  }
  return { fields, other };
}

/** Message for a failed chat turn, by status (see the chat table in docs/api.md). */
export function describeChat(err) {
  switch (err?.status) {
    case 0:
      return err.detail === "network" ? t("networkError") : t("connectionLost");
    case 404:
      return t("notFound");
    case 409:
      return t("chatBusy");
    case 413:
      return t("chatTooLong");
    case 422: {
      const { fields, other } = fieldErrors(err.detail);
      return [...other, ...Object.values(fields)].join(" ") || describe(err);
    }
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
