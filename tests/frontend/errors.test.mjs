import { test } from "node:test";
import assert from "node:assert/strict";

import { installBrowser, freshImport } from "./browser.mjs";

installBrowser({ storage: { lang: "en" } });
const { ApiError } = await import("../../frontend/js/api.js");
const errors = await import("../../frontend/js/errors.js");
const { setLang } = await import("../../frontend/js/i18n.js");
const { describe, describeChat, fieldErrors, conflictFields } = errors;

// What POST /register answers for a form with every field wrong (app/schemas.py, measured).
const REGISTER_422 = [
  { loc: ["body", "username"], type: "value_error", msg: "Value error, must be 3–32 characters: letters, digits, '_', '.' or '-'" },
  { loc: ["body", "email"], type: "value_error", msg: "value is not a valid email address: An email address must have an @-sign." },
  { loc: ["body", "password"], type: "string_too_short", msg: "String should have at least 8 characters" },
  { loc: ["body", "password_confirm"], type: "value_error", msg: "Value error, passwords do not match" },
];

test("a 422 list becomes one translated message per body field, never the API's English", () => {
  setLang("pt-BR");
  const { fields, other } = fieldErrors(REGISTER_422);
  assert.deepEqual(fields, {
    username: "Este nome de usuário tem caracteres não permitidos.",
    email: "Isto não é um endereço de e-mail.",
    password: "Curta demais.",
    password_confirm: "As senhas não coincidem.",
  });
  assert.deepEqual(other, []);
  const shown = JSON.stringify(fields);
  for (const english of ["String", "Value error", "characters", "valid"]) {
    assert.ok(!shown.includes(english), `${english} leaked into pt-BR`);
  }
  setLang("en");
  assert.equal(fieldErrors(REGISTER_422).fields.password_confirm, "The passwords don't match.");
});

test("each 422 type has its words; unknown ones are 'not valid', repeats are listed once", () => {
  const one = (item) => errors.fieldMessage(item);
  assert.equal(one({ loc: ["body", "email"], type: "missing" }), "Required.");
  assert.equal(one({ loc: ["body", "new_password"], type: "string_too_short" }), "Too short.");
  assert.equal(one({ loc: ["body", "title"], type: "string_too_short" }), "Can't be empty.");
  assert.equal(one({ loc: ["body", "title"], type: "string_too_long" }), "Too long.");
  assert.equal(one({ loc: ["body", "message"], type: "string_too_long" }), "The message is too long.");
  assert.equal(
    one({ loc: ["body", "message"], type: "value_error", msg: "Value error, must not be empty" }),
    "Can't be empty.",
  );
  assert.equal(
    one({ loc: ["body", "password"], type: "value_error", msg: "Value error, must not contain NUL characters" }),
    "Contains characters that aren't allowed.",
  );
  assert.equal(one({ loc: ["body"], type: "json_invalid", msg: "JSON decode error" }), "This value isn't valid.");
  const { fields, other } = fieldErrors([
    { loc: ["body", "username"], type: "missing" },
    { loc: ["body", "username"], type: "string_too_long" },
    { loc: ["query", "limit"], type: "less_than_equal" },
    { loc: ["path", "id"], type: "uuid_parsing" },
    { type: "missing" },
  ]);
  assert.deepEqual(fields, { username: "Required." });
  assert.deepEqual(other, ["Too long.", "This value isn't valid."]);
  assert.deepEqual(fieldErrors("not a list"), { fields: {}, other: [] });
});

test("a 409 from sign-up names the taken fields", () => {
  assert.deepEqual(conflictFields("username already registered"), ["username"]);
  assert.deepEqual(conflictFields("email already registered"), ["email"]);
  assert.deepEqual(conflictFields("username and email already registered"), ["username", "email"]);
  assert.deepEqual(conflictFields("username or email already registered"), ["username", "email"]);
  assert.deepEqual(conflictFields(null), ["username"]);
});

test("describe() words every status itself and never passes the API's text through", () => {
  assert.equal(describe(new ApiError(0, "network")), "Can't reach the server. Check your connection.");
  assert.equal(describe(new ApiError(429, "slow down", 12)), "Too many attempts. Try again in 12 s.");
  assert.equal(describe(new ApiError(429, "slow down")), "Too many attempts. Try again in a moment.");
  assert.equal(describe(new ApiError(404, "Conversation not found")), "This conversation no longer exists.");
  assert.equal(describe(new ApiError(422, "title must not be null")), "This value isn't valid.");
  assert.equal(describe(new ApiError(422, REGISTER_422.slice(2, 3))), "Too short.");
  assert.equal(describe(new ApiError(500, [{ msg: "x" }])), "The server had a problem (500). Try again in a moment.");
  assert.equal(describe(new ApiError(418, "teapot")), "Something went wrong (418).");
  setLang("pt-BR");
  for (const status of [401, 403, 404, 409, 413, 422, 429, 500, 503]) {
    const said = describe(new ApiError(status, "English detail from the API"));
    assert.ok(!said.includes("English"), `${status}: ${said}`);
    assert.notEqual(said, describe(new ApiError(599, "")), `${status} has no words of its own`);
  }
  setLang("en");
});

test("describeChat() tells the chat failures apart by status", () => {
  const said = (status, detail = "", retryAfter = null) =>
    describeChat(new ApiError(status, detail, retryAfter));
  assert.equal(said(0, "network"), "Can't reach the server. Check your connection.");
  assert.equal(said(0, "connection lost"), "The connection was lost before the answer finished.");
  assert.equal(said(502), "The model failed to answer. Nothing was saved.");
  assert.notEqual(said(503), said(504));
  assert.equal(said(429, "", 3), "You're sending messages too fast. Try again in 3 s.");
  assert.equal(
    said(422, [{ loc: ["body", "message"], msg: "Message is longer than 8000 characters", type: "string_too_long" }]),
    "The message is too long.",
  );
});

test("every message errors.js can give exists in both languages", async () => {
  const source = await import("node:fs").then((fs) =>
    fs.readFileSync(new URL("../../frontend/js/errors.js", import.meta.url), "utf8"),
  );
  const keys = [...source.matchAll(/\bt\("([^"]+)"/g)].map(([, key]) => key);
  assert.ok(keys.length > 20, "the scan is broken");
  const i18n = await freshImport("i18n.js");
  i18n.setLang("en");
  const english = keys.map((key) => i18n.t(key));
  i18n.setLang("pt-BR");
  keys.forEach((key, i) => {
    assert.notEqual(english[i], key, `${key} missing in English`);
    assert.notEqual(i18n.t(key), english[i], `${key} untranslated in pt-BR`);
  });
});
