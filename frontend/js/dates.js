// Dates as people read them: the sidebar's groups (Today, Yesterday, Previous 7 days,
// Previous 30 days, then one per month), a conversation's last activity as "5 minutes ago",
// a message's full date and time for its tooltip. Pure functions of a date, `now` and the
// language (Intl does the wording), so the tests can pin the clock.

import { t, lang } from "./i18n.js";

const DAY_MS = 86_400_000;

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate());
}

/** Calendar days from `date` to `now` in local time (0: same day, 1: yesterday). */
export function daysAgo(date, now) {
  // Rounded, not floored: a day across a daylight-saving change is 23 or 25 hours long.
  return Math.max(0, Math.round((startOfDay(now) - startOfDay(date)) / DAY_MS));
}

function capitalize(text, locale) {
  return text.charAt(0).toLocaleUpperCase(locale) + text.slice(1);
}

/** The group a date falls in: {key, label}; months are labelled by Intl in the language. */
export function dateGroup(date, now = new Date(), locale = lang()) {
  const days = daysAgo(date, now);
  if (days === 0) return { key: "today", label: t("groupToday") };
  if (days === 1) return { key: "yesterday", label: t("groupYesterday") };
  if (days <= 7) return { key: "week", label: t("groupWeek") };
  if (days <= 30) return { key: "month", label: t("groupMonth") };
  const sameYear = date.getFullYear() === now.getFullYear();
  const format = new Intl.DateTimeFormat(locale, sameYear ? { month: "long" } : { month: "long", year: "numeric" });
  const key = `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}`;
  return { key, label: capitalize(format.format(date), locale) };
}

/**
 * Split `items` (already newest first) into consecutive date groups by `dateOf(item)`:
 * [{key, label, items}], in the order the items come.
 */
export function groupByDate(items, dateOf, now = new Date(), locale = lang()) {
  const groups = [];
  for (const item of items) {
    const { key, label } = dateGroup(new Date(dateOf(item)), now, locale);
    const last = groups.at(-1);
    if (last?.key === key) last.items.push(item);
    else groups.push({ key, label, items: [item] });
  }
  return groups;
}

/** "now", "5 minutes ago", "yesterday", "3 weeks ago"… in the language, via Intl. */
export function relativeTime(date, now = new Date(), locale = lang()) {
  const format = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  const seconds = Math.max(0, (now - date) / 1000);
  if (seconds < 45) return format.format(0, "second");
  if (seconds < 3600) return format.format(-Math.max(1, Math.round(seconds / 60)), "minute");
  const days = daysAgo(date, now);
  if (days === 0) return format.format(-Math.round(seconds / 3600), "hour");
  if (days < 7) return format.format(-days, "day");
  if (days < 30) return format.format(-Math.floor(days / 7), "week");
  const months = (now.getFullYear() - date.getFullYear()) * 12 + now.getMonth() - date.getMonth();
  if (months < 12) return format.format(-Math.max(1, months), "month");
  return format.format(-Math.floor(months / 12), "year");
}

/** The full local date and time, for a tooltip: "Tuesday, December 1, 2026 at 11:45 PM". */
export function fullDateTime(date, locale = lang()) {
  return new Intl.DateTimeFormat(locale, { dateStyle: "full", timeStyle: "short" }).format(date);
}
