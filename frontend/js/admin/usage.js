// Administration → Usage: today's tokens against the site's daily budget (a bar), the last
// 30 days (a table with a bar per day) and a table per user.

import * as api from "../api.js";
import { t } from "../i18n.js";
import { $, h } from "../dom.js";
import { percentUsed, shareOfMax } from "./format.js";
import { day, emptyRow, fail, num, td, when } from "./shared.js";

let data = null;

export async function loadUsage() {
  try {
    data = await api.admin.usage(30);
    render();
  } catch (err) {
    fail(err);
  }
}

function bar(percent, cls = "") {
  const fill = h("span", { class: "day-bar-fill" });
  fill.style.width = `${percent}%`; // the CSSOM, which the CSP allows (no style= attribute)
  return h("span", { class: `day-bar ${cls}`, "aria-hidden": "true" }, fill);
}

/** An account's own quota: none of its own (the site's), 0 (lifted: no quota), or a number. */
function quotaText(quota) {
  if (quota === null || quota === undefined) return t("usageDefault");
  return quota === 0 ? t("adminNoQuota") : num(quota);
}

function render() {
  if (!data) return;
  const today = data.today ?? { input_tokens: 0, output_tokens: 0, messages: 0 };
  const used = (today.input_tokens ?? 0) + (today.output_tokens ?? 0);
  const budget = data.daily_token_budget || null;
  $("usage-today-text").textContent = budget
    ? t("usageTodayBudget", { used: num(used), budget: num(budget) })
    : t("usageTodayNoBudget", { used: num(used) });
  const percent = percentUsed(used, budget);
  const meter = $("usage-bar");
  meter.hidden = percent === null;
  if (percent !== null) {
    meter.setAttribute("aria-valuenow", String(Math.round(percent)));
    meter.setAttribute("aria-valuetext", $("usage-today-text").textContent);
    meter.classList.toggle("is-full", percent >= 100);
    meter.classList.toggle("is-high", percent >= 80 && percent < 100);
    $("usage-bar-fill").style.width = `${percent}%`;
  }
  $("usage-today-detail").textContent = t("usageTodayDetail", {
    input: num(today.input_tokens),
    output: num(today.output_tokens),
    messages: num(today.messages),
    time: when(data.budget_resets_at, { empty: "00:00 UTC" }),
  });

  const days = [...(data.days ?? [])].reverse(); // newest first, as everything else here
  const totals = days.map((d) => (d.input_tokens ?? 0) + (d.output_tokens ?? 0));
  const dayRows = days.map((d, i) =>
    h(
      "tr",
      {},
      h("th", { scope: "row", class: "nowrap" }, day(d.date)),
      td(num(d.input_tokens), "num"),
      td(num(d.output_tokens), "num"),
      td(num(d.messages), "num"),
      td(bar(shareOfMax(totals[i], totals)), "bar-cell"),
    ),
  );
  $("usage-days-rows").replaceChildren(...(dayRows.length ? dayRows : [emptyRow(5, t("usageNone"))]));

  const userRows = (data.users ?? []).map((u) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, u.username),
      td(num(u.day_tokens), "num"),
      td(num(u.month_tokens), "num"),
      td(num(u.month_messages), "num"),
      td(num(u.conversations), "num"),
      td(quotaText(u.monthly_quota), "num"),
    ),
  );
  $("usage-users-rows").replaceChildren(...(userRows.length ? userRows : [emptyRow(6, t("usageNone"))]));
}

export const renderUsage = () => render();
