import { test } from "node:test";
import assert from "node:assert/strict";

import { installBrowser } from "./browser.mjs";

installBrowser({ storage: { lang: "en" } });
const { ApiError } = await import("../../frontend/js/api.js");
const { describe, describeChat, fieldErrors } = await import("../../frontend/js/errors.js");

test("a 422 detail list becomes one message per body field, the rest kept apart", () => {
  const { fields, other } = fieldErrors([
    { loc: ["body", "password_confirm"], msg: "Value error, passwords do not match" },
    { loc: ["body", "username"], msg: "too short" },
    { loc: ["body", "username"], msg: "second message for the same field" },
    { loc: ["query", "limit"], msg: "too big" },
    { msg: "no loc at all" },
  ]);
  assert.deepEqual(fields, { password_confirm: "passwords do not match", username: "too short" });
  assert.deepEqual(other, ["second message for the same field", "too big", "no loc at all"]);
  assert.deepEqual(fieldErrors("not a list"), { fields: {}, other: [] });
});

test("describe() words network failures and throttling, and passes the API's text through", () => {
  assert.equal(describe(new ApiError(0, "network")), "Can't reach the server. Check your connection.");
  assert.equal(describe(new ApiError(429, "slow down", 12)), "Too many attempts. Try again in 12 s.");
  assert.equal(describe(new ApiError(429, "slow down")), "Too many attempts. Try again in a moment.");
  assert.equal(describe(new ApiError(409, "Username already taken")), "Username already taken");
  assert.equal(describe(new ApiError(500, [{ msg: "x" }])), "Something went wrong (500).");
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
    said(422, [{ loc: ["body", "message"], msg: "String should have at most 8000 characters" }]),
    "String should have at most 8000 characters",
  );
});
