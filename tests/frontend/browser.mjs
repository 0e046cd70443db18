// A browser-like global scope for the UI's modules under Node: jsdom's window, document,
// localStorage and navigator. Install it before importing a module that reads them when it
// loads (i18n.js detects the language, DOMPurify needs a window to sanitize at all).

import { JSDOM } from "jsdom";

export function installBrowser({ languages = ["en-US"], storage = {}, html = "" } = {}) {
  const dom = new JSDOM(`<!doctype html><html><body>${html}</body></html>`, {
    url: "http://127.0.0.1/",
  });
  const { window } = dom;
  for (const [key, value] of Object.entries(storage)) window.localStorage.setItem(key, value);
  Object.defineProperty(window.navigator, "languages", { value: languages, configurable: true });
  const globals = {
    window,
    document: window.document,
    Node: window.Node,
    localStorage: window.localStorage,
    navigator: window.navigator,
  };
  // Node 18 (Debian 12's nodejs) has EventTarget but no global CustomEvent; events.js needs one
  // that Node's own EventTarget accepts, so jsdom's won't do.
  globalThis.CustomEvent ??= class CustomEvent extends Event {
    constructor(type, { detail = null, ...init } = {}) {
      super(type, init);
      this.detail = detail;
    }
  };
  for (const [name, value] of Object.entries(globals)) {
    Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
  return window;
}

/** A fresh copy of a frontend module (its own module-level state), e.g. to re-detect the language. */
let copies = 0;
export function freshImport(path) {
  return import(new URL(`../../frontend/js/${path}?copy=${++copies}`, import.meta.url));
}
