import { test } from "node:test";
import assert from "node:assert/strict";

import { installBrowser } from "./browser.mjs";

installBrowser({ storage: { lang: "en" } });
const { parseRoute, adminHash } = await import("../../frontend/js/routes.js");
const format = await import("../../frontend/js/admin/format.js");
const { fieldMessage, describeSignup } = await import("../../frontend/js/errors.js");
const { setLang } = await import("../../frontend/js/i18n.js");

const ID = "0b6c4f9e-2f4b-4c8e-9a7d-2b1e8c3d4f5a";

test("routes: conversations, the administration's sections, invite and reset links", () => {
  assert.deepEqual(parseRoute(`#/c/${ID}`), { view: "chat", id: ID });
  assert.deepEqual(parseRoute(""), { view: "chat", id: null });
  assert.deepEqual(parseRoute("#/"), { view: "chat", id: null });
  assert.deepEqual(parseRoute("#/admin"), { view: "admin", section: "users" });
  assert.deepEqual(parseRoute("#/admin/audit"), { view: "admin", section: "audit" });
  assert.deepEqual(parseRoute("#/admin/nope"), { view: "admin", section: "users" });
  assert.deepEqual(parseRoute("#/invite/Ab_c-9"), { view: "invite", token: "Ab_c-9" });
  assert.deepEqual(parseRoute("#/reset/x%2Dy"), { view: "reset", token: "x-y" });
  assert.deepEqual(parseRoute("#/reset/%E0%A4%A"), { view: "chat", id: null }, "bad escapes");
  assert.deepEqual(parseRoute("#/c/not-an-id"), { view: "chat", id: null });
  assert.equal(adminHash("usage"), "#/admin/usage");
});

test("counts typed in a box: empty, separators, anything else is not a number", () => {
  assert.equal(format.parseCount(""), null);
  assert.equal(format.parseCount("  ", 0), 0);
  assert.equal(format.parseCount("1 000"), 1000);
  assert.equal(format.parseCount("250,000"), 250000);
  assert.ok(Number.isNaN(format.parseCount("-5")));
  assert.ok(Number.isNaN(format.parseCount("lots")));
  assert.ok(Number.isNaN(format.parseCount("1e6")));
});

test("email domains: lower case, each once, any separator, a leading @ dropped", () => {
  assert.deepEqual(format.parseDomains("A.com, b.org\n@c.net;a.com"), ["a.com", "b.org", "c.net"]);
  assert.deepEqual(format.parseDomains("  "), []);
});

test("budget bars, the busiest day, paging", () => {
  assert.equal(format.percentUsed(50, 200), 25);
  assert.equal(format.percentUsed(500, 200), 100);
  assert.equal(format.percentUsed(5, 0), null);
  assert.equal(format.percentUsed(5, null), null);
  assert.equal(format.shareOfMax(5, [5, 10, 0]), 50);
  assert.equal(format.shareOfMax(0, [0, 0]), 0);
  assert.deepEqual(format.pageOf(0, 50, 120, 50), { from: 1, to: 50, prev: null, next: 50 });
  assert.deepEqual(format.pageOf(100, 50, 120, 20), { from: 101, to: 120, prev: 50, next: null });
  assert.deepEqual(format.pageOf(0, 50, 0, 0), { from: 0, to: 0, prev: null, next: null });
});

test("an invite's state, audit details as a line, /me's fields", () => {
  const now = new Date("2026-12-02T12:00:00Z");
  const base = { revoked: false, expires_at: "2026-12-09T00:00:00Z", uses: 0, max_uses: 2 };
  assert.equal(format.inviteState(base, now), "active");
  assert.equal(format.inviteState({ ...base, uses: 2 }, now), "usedUp");
  assert.equal(format.inviteState({ ...base, expires_at: "2026-12-01T00:00:00Z" }, now), "expired");
  assert.equal(format.inviteState({ ...base, revoked: true, uses: 2 }, now), "revoked");
  assert.equal(format.detailsText({ from: "user", to: "admin", n: 2, x: { a: 1 } }),
    'from: user, to: admin, n: 2, x: {"a":1}');
  assert.equal(format.detailsText(null), "");
  assert.deepEqual(format.meFields({ role: "admin", totp_enabled: true }),
    { role: "admin", totp_enabled: true, totp_required: false });
  assert.deepEqual(format.meFields({}), { role: "user", totp_enabled: false, totp_required: false });
  assert.equal(format.formatNumber(1234567, "en"), "1,234,567");
  assert.equal(format.formatNumber(1234567, "pt-BR"), "1.234.567");
});

test("sign-up refusals and the domain rule in plain words, in both languages", () => {
  setLang("en");
  const domain = {
    loc: ["body", "email"],
    type: "value_error",
    msg: "Value error, Sign-ups are limited to these email domains: a.com, b.org",
  };
  assert.equal(fieldMessage(domain), "Addresses at this domain can't sign up here.");
  assert.equal(fieldMessage({ loc: ["body", "daily_token_budget"], type: "int_parsing" }),
    "Must be a whole number, 0 or more.");
  const refusal = (detail) => describeSignup({ status: 403, detail });
  assert.match(refusal("Sign-ups are closed"), /closed on this site/);
  assert.match(refusal("An invite is required to sign up"), /needs an invite link/);
  assert.match(refusal("This invite is invalid, expired or used up"), /invalid, expired or used up/);
  setLang("pt-BR");
  assert.equal(fieldMessage(domain), "Endereços deste domínio não podem se cadastrar aqui.");
  assert.match(refusal("Sign-ups are closed"), /cadastro está fechado/);
  setLang("en");
});
