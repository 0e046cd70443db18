import { test } from "node:test";
import assert from "node:assert/strict";

import { installBrowser } from "./browser.mjs";

installBrowser({ storage: { lang: "en" } });
const { dateGroup, groupByDate, relativeTime, fullDateTime, daysAgo } = await import(
  "../../frontend/js/dates.js"
);
const { setLang } = await import("../../frontend/js/i18n.js");

// Local times: the groups are calendar days where the user is.
const NOW = new Date(2026, 11, 1, 10, 30); // 1 December 2026, 10:30
const at = (month, day, hour = 12, minute = 0) => new Date(2026, month, day, hour, minute);

test("calendar days, not 24-hour periods", () => {
  assert.equal(daysAgo(at(11, 1, 0, 1), NOW), 0);
  assert.equal(daysAgo(at(10, 30, 23, 59), NOW), 1);
  assert.equal(daysAgo(new Date(2026, 11, 2), NOW), 0, "a clock ahead of ours is today");
  // Across the end of daylight-saving time (a 25-hour day in many zones).
  assert.equal(daysAgo(new Date(2026, 9, 20, 12), new Date(2026, 10, 5, 12)), 16);
});

test("groups: today, yesterday, previous 7 and 30 days, then months named in the language", () => {
  const label = (date, locale = "en") => dateGroup(date, NOW, locale).label;
  assert.equal(label(at(11, 1, 8)), "Today");
  assert.equal(label(at(10, 30, 23)), "Yesterday");
  assert.equal(label(at(10, 29)), "Previous 7 days");
  assert.equal(label(at(10, 24)), "Previous 7 days");
  assert.equal(label(at(10, 23)), "Previous 30 days");
  assert.equal(label(at(10, 1)), "Previous 30 days");
  assert.equal(label(at(9, 31)), "October");
  assert.equal(label(new Date(2025, 6, 4)), "July 2025");
  setLang("pt-BR");
  assert.equal(label(at(11, 1, 8), "pt-BR"), "Hoje");
  assert.equal(label(at(10, 30), "pt-BR"), "Ontem");
  assert.equal(label(at(10, 26), "pt-BR"), "Últimos 7 dias");
  assert.equal(label(at(10, 10), "pt-BR"), "Últimos 30 dias");
  assert.equal(label(at(9, 2), "pt-BR"), "Outubro");
  assert.equal(label(new Date(2025, 6, 4), "pt-BR"), "Julho de 2025");
  setLang("en");
});

test("groupByDate keeps the order and gathers neighbours", () => {
  const items = [at(11, 1, 9), at(11, 1, 8), at(10, 30), at(10, 28), at(9, 3), at(9, 1), new Date(2025, 9, 9)];
  const groups = groupByDate(items, (d) => d.toISOString(), NOW, "en");
  assert.deepEqual(
    groups.map((g) => [g.label, g.items.length]),
    [["Today", 2], ["Yesterday", 1], ["Previous 7 days", 1], ["October", 2], ["October 2025", 1]],
  );
  assert.equal(new Set(groups.map((g) => g.key)).size, groups.length, "keys are unique");
  assert.deepEqual(groupByDate([], (d) => d, NOW, "en"), []);
});

test("relative times in both languages", () => {
  const ago = (minutes, locale = "en") => relativeTime(new Date(NOW - minutes * 60_000), NOW, locale);
  assert.equal(ago(0.2), "now");
  assert.equal(ago(5), "5 minutes ago");
  assert.equal(ago(59), "59 minutes ago");
  assert.equal(ago(180), "3 hours ago");
  assert.equal(relativeTime(at(10, 30, 22), NOW, "en"), "yesterday");
  assert.equal(relativeTime(at(10, 27), NOW, "en"), "4 days ago");
  assert.equal(relativeTime(at(10, 10), NOW, "en"), "3 weeks ago");
  assert.equal(relativeTime(at(8, 1), NOW, "en"), "3 months ago");
  assert.equal(relativeTime(new Date(2024, 11, 1), NOW, "en"), "2 years ago");
  assert.equal(ago(-10), "now", "a clock ahead of ours is now");
  assert.equal(ago(0.2, "pt-BR"), "agora");
  assert.equal(ago(5, "pt-BR"), "há 5 minutos");
  assert.equal(relativeTime(at(10, 30, 22), NOW, "pt-BR"), "ontem");
});

test("fullDateTime names the day, date and time in the language", () => {
  assert.equal(fullDateTime(at(11, 1, 23, 45), "en").replace(/\s/g, " "), "Tuesday, December 1, 2026 at 11:45 PM");
  assert.equal(fullDateTime(at(11, 1, 23, 45), "pt-BR"), "terça-feira, 1 de dezembro de 2026 às 23:45");
});
