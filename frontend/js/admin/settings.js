// Administration → Settings: the sign-up policy, allowed email domains, the daily token
// budget, the default monthly quota and whether admins need two-factor sign-in. Saving sends
// the whole form (PATCH /admin/settings); the API's refusals show by their field, translated.

import * as api from "../api.js";
import { state, set } from "../state.js";
import { t } from "../i18n.js";
import { $, toast } from "../dom.js";
import { clearFormErrors, showApiError, showErrors } from "../forms.js";
import { meFields, parseCount, parseDomains } from "./format.js";
import { fail } from "./shared.js";

function fill(settings) {
  const form = $("settings-form");
  for (const radio of form.querySelectorAll("[name=signup_policy]")) {
    radio.checked = radio.value === settings.signup_policy;
  }
  form.signup_email_domains.value = (settings.signup_email_domains ?? []).join(", ");
  form.daily_token_budget.value = settings.daily_token_budget ?? 0;
  form.monthly_token_quota.value = settings.monthly_token_quota ?? 0;
  form.require_admin_totp.checked = Boolean(settings.require_admin_totp);
}

export async function loadSettings() {
  clearFormErrors($("settings-form"));
  try {
    fill(await api.admin.settings());
  } catch (err) {
    fail(err);
  }
}

async function save(e) {
  e.preventDefault();
  const form = e.currentTarget;
  clearFormErrors(form);
  const known = {};
  const budget = parseCount(form.daily_token_budget.value, 0);
  const quota = parseCount(form.monthly_token_quota.value, 0);
  if (Number.isNaN(budget)) known.daily_token_budget = t("errWholeNumber");
  if (Number.isNaN(quota)) known.monthly_token_quota = t("errWholeNumber");
  if (Object.keys(known).length) {
    showErrors("set", known);
    return;
  }
  const fields = {
    signup_policy: form.querySelector("[name=signup_policy]:checked")?.value,
    signup_email_domains: parseDomains(form.signup_email_domains.value),
    daily_token_budget: budget,
    monthly_token_quota: quota,
    require_admin_totp: form.require_admin_totp.checked,
  };
  if (!fields.signup_policy) delete fields.signup_policy;
  const button = form.querySelector("[type=submit]");
  button.disabled = true;
  try {
    const saved = await api.admin.saveSettings(fields);
    fill(saved);
    toast(t("settingsSaved"));
    // The public config the sign-up screen reads follows the new policy.
    api.getConfig().then((config) => set({ config }), () => {});
    // REQUIRE_ADMIN_TOTP may now apply to me: /me says so (the banner).
    api.me().then((me) => state.user && set({ user: { ...state.user, ...meFields(me) } }), () => {});
  } catch (err) {
    showApiError("set", err);
  } finally {
    button.disabled = false;
  }
}

export function initSettings() {
  $("settings-form").addEventListener("submit", save);
}
