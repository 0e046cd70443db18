import { test } from "node:test";
import assert from "node:assert/strict";

import { installBrowser } from "./browser.mjs";

installBrowser({ storage: { lang: "en" } });
const { displayTitle, hasDefaultTitle } = await import("../../frontend/js/titles.js");
const { setLang } = await import("../../frontend/js/i18n.js");

const CREATED = "2026-03-01T10:00:00.000000Z";
const LATER = "2026-03-01T10:00:05.250000Z";
const conversation = (fields) => ({
  id: "c1",
  title: "Novo Chat",
  created_at: CREATED,
  updated_at: CREATED,
  ...fields,
});

test("a new conversation (not renamed, no turn saved) shows the default in the reader's language", () => {
  const fresh = conversation({ title_is_custom: false });
  assert.equal(hasDefaultTitle(fresh), true);
  assert.equal(displayTitle(fresh), "New chat");
  setLang("pt-BR");
  assert.equal(displayTitle(fresh), "Nova conversa");
  setLang("en");
});

test("after the first turn the title is the server's automatic one, whatever it says", () => {
  const answered = conversation({ title_is_custom: false, title: "Novo Chat", updated_at: LATER });
  assert.equal(hasDefaultTitle(answered), false);
  assert.equal(displayTitle(answered), "Novo Chat", "a first message that read 'Novo Chat'");
  const titled = conversation({ title_is_custom: false, title: "Receitas", updated_at: LATER });
  assert.equal(displayTitle(titled), "Receitas");
});

test("a renamed conversation shows its name, even a name equal to the server's default", () => {
  const renamed = conversation({ title_is_custom: true, title: "Novo Chat" });
  assert.equal(hasDefaultTitle(renamed), false);
  assert.equal(displayTitle(renamed), "Novo Chat");
});

test("servers without title_is_custom: the default is recognised by its text", () => {
  assert.equal(displayTitle(conversation({})), "New chat");
  assert.equal(displayTitle(conversation({ title: "Receitas", updated_at: LATER })), "Receitas");
});

test("no conversation, or one without a title, reads as a new chat", () => {
  assert.equal(displayTitle(null), "New chat");
  assert.equal(displayTitle(conversation({ title: "", title_is_custom: true })), "New chat");
});
