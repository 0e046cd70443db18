import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";

import { installBrowser, freshImport } from "./browser.mjs";

const FRONTEND = new URL("../../frontend/", import.meta.url);

async function i18nFor(options) {
  installBrowser(options);
  return freshImport("i18n.js");
}

test("the language follows the browser, English when it asks for neither", async () => {
  assert.equal((await i18nFor({ languages: ["pt-PT"] })).lang(), "pt-BR");
  assert.equal((await i18nFor({ languages: ["en-GB", "pt-BR"] })).lang(), "en");
  assert.equal((await i18nFor({ languages: ["fr-FR", "en"] })).lang(), "en");
  assert.equal((await i18nFor({ languages: ["fr-FR", "pt"] })).lang(), "pt-BR");
  assert.equal((await i18nFor({ languages: ["de"] })).lang(), "en");
  assert.equal((await i18nFor({ languages: [] })).lang(), "en");
});

test("a stored choice wins over the browser; an unknown stored value is ignored", async () => {
  assert.equal((await i18nFor({ languages: ["en"], storage: { lang: "pt-BR" } })).lang(), "pt-BR");
  assert.equal((await i18nFor({ languages: ["en"], storage: { lang: "xx" } })).lang(), "en");
});

test("t() fills placeholders (missing ones empty) and answers an unknown key with the key", async () => {
  const { t } = await i18nFor({ languages: ["pt-BR"] });
  assert.equal(t("throttled", { seconds: 7 }), "Muitas tentativas. Tente de novo em 7 s.");
  assert.equal(t("genericError"), "Algo deu errado ().");
  assert.equal(t("no-such-key"), "no-such-key");
  assert.ok(Array.isArray(t("suggestions")), "lists come back as lists");
});

test("setLang() translates the markup, stores the choice and emits languagechange", async () => {
  const { document, localStorage } = installBrowser({
    languages: ["en"],
    html: '<h1 data-i18n="newChat">x</h1><input data-i18n-attr="placeholder:searchPlaceholder;aria-label:searchLabel">',
  });
  const i18n = await freshImport("i18n.js");
  const { on } = await import("../../frontend/js/events.js");
  let heard = 0;
  on("languagechange", () => heard++);
  i18n.translate();
  assert.equal(document.querySelector("h1").textContent, "New chat");
  i18n.setLang("pt-BR");
  assert.equal(heard, 1);
  assert.equal(document.documentElement.lang, "pt-BR");
  assert.equal(document.querySelector("h1").textContent, "Nova conversa");
  const input = document.querySelector("input");
  assert.equal(input.getAttribute("placeholder"), "Buscar…");
  assert.equal(input.getAttribute("aria-label"), "Buscar conversas");
  assert.equal(localStorage.getItem("lang"), "pt-BR");
  i18n.setLang("pt-BR"); // no change, no event
  i18n.setLang("xx"); // unknown, ignored
  assert.equal(heard, 1);
  assert.equal(i18n.lang(), "pt-BR");
});

/** Every key the UI asks for: data-i18n(-attr) in index.html and t("…") in the modules. */
function keysInUse() {
  const keys = new Set();
  const html = readFileSync(new URL("index.html", FRONTEND), "utf8");
  for (const [, key] of html.matchAll(/data-i18n="([^"]+)"/g)) keys.add(key);
  for (const [, pairs] of html.matchAll(/data-i18n-attr="([^"]+)"/g)) {
    for (const pair of pairs.split(";")) keys.add(pair.split(":")[1]);
  }
  const js = new URL("js/", FRONTEND);
  for (const entry of readdirSync(js, { recursive: true })) {
    if (!entry.endsWith(".js")) continue;
    const source = readFileSync(new URL(entry, js), "utf8");
    for (const [, key] of source.matchAll(/\bt\("([^"]+)"/g)) keys.add(key);
  }
  return keys;
}

// Written the same in both languages on purpose; any other equal pair is a missing translation
// (t() falls back to English) or an untranslated copy.
const SAME_IN_BOTH = new Set(["appName"]);

test("every string the UI uses exists, translated, in both languages", async () => {
  const keys = keysInUse();
  assert.ok(keys.size > 50, `found only ${keys.size} keys: the scan is broken`);
  const { t, setLang } = await i18nFor({ storage: { lang: "en" } });
  const english = new Map([...keys].map((key) => [key, JSON.stringify(t(key))]));
  assert.deepEqual([...keys].filter((key) => t(key) === key), [], "missing in English");
  setLang("pt-BR");
  const untranslated = [...keys].filter(
    (key) => !SAME_IN_BOTH.has(key) && JSON.stringify(t(key)) === english.get(key),
  );
  assert.deepEqual(untranslated, [], "missing or untranslated in pt-BR");
});
