// What the administration's sections share: dates and numbers in the UI's language, error
// words, the "shown once" link dialog, table cells. Text goes in through textContent only.

import { lang, t } from "../i18n.js";
import { $, h, toast } from "../dom.js";
import { describe } from "../errors.js";
import { copyText } from "../clipboard.js";
import { fullDateTime, relativeTime } from "../dates.js";
import { formatNumber } from "./format.js";

export const num = (n) => formatNumber(n, lang());

/** A short date and time ("Dec 1, 2026, 11:45 PM"), or "never" for null. */
export function when(iso, { empty = t("adminNever") } = {}) {
  if (!iso) return empty;
  return new Intl.DateTimeFormat(lang(), { dateStyle: "medium", timeStyle: "short" }).format(
    new Date(iso),
  );
}

/** A date alone ("Dec 1, 2026"), with the full date and time on hover. */
export function dateOnly(iso) {
  const date = new Date(iso);
  const text = new Intl.DateTimeFormat(lang(), { dateStyle: "medium" }).format(date);
  return h("time", { datetime: iso, title: fullDateTime(date) }, text);
}

/** "5 minutes ago" with the full date and time on hover, or "never". */
export function ago(iso) {
  if (!iso) return t("adminNever");
  const date = new Date(iso);
  return h("time", { datetime: iso, title: fullDateTime(date) }, relativeTime(date));
}

/** A date alone, for a UTC calendar day "2026-12-01". */
export function day(isoDate) {
  return new Intl.DateTimeFormat(lang(), { dateStyle: "medium", timeZone: "UTC" }).format(
    new Date(`${isoDate}T00:00:00Z`),
  );
}

/** An admin call's failure in plain words: the last-admin rule, a non-admin, or by status. */
export function describeAdmin(err) {
  if (err?.status === 409 && /last admin/i.test(String(err.detail))) return t("adminLastAdmin");
  if (err?.status === 403 && /admins only/i.test(String(err.detail))) return t("adminNotAdmin");
  if (err?.status === 404) return t("adminNotFound");
  if (err?.status === 403 && /two-factor/i.test(String(err.detail))) return t("totpRequiredBanner");
  return describe(err);
}

export const fail = (err) => toast(describeAdmin(err));

/** A <td> with text (or nodes), and an optional class. */
export const td = (content, cls = null) => h("td", { class: cls }, content);

/** An empty-table row spanning every column, saying `text`. */
export const emptyRow = (columns, text) =>
  h("tr", { class: "empty-row" }, h("td", { colspan: String(columns) }, text));

/** Show a link that is shown only once (an invite, a password reset) with a Copy button. */
export function showLink({ title, text, url, expiresAt }) {
  $("link-title").textContent = title;
  $("link-text").textContent = text;
  $("link-url").value = url;
  $("link-expiry").textContent = expiresAt ? t("linkExpires", { date: when(expiresAt) }) : "";
  $("link-dialog").showModal();
  $("link-url").select();
}

/**
 * Copy `text`, and say so on the button itself ("Copied" for two seconds): a toast would sit
 * under an open dialog. Failing that, `select` (an input) is selected for a manual copy.
 */
export async function copyFrom(button, text, select = null) {
  const label = button.querySelector("[data-i18n]") ?? button;
  if (await copyText(text)) {
    label.textContent = t("copied");
    setTimeout(() => (label.textContent = t("copy")), 2000);
  } else {
    label.textContent = t("copyFailedShort");
    select?.select();
  }
}

export function initLinkDialog() {
  $("link-copy").addEventListener("click", (e) =>
    copyFrom(e.currentTarget, $("link-url").value, $("link-url")),
  );
}
