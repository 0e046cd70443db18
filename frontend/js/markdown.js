// Markdown → sanitized DOM: marked parses, DOMPurify sanitizes (the only path from untrusted
// text to innerHTML in the whole UI), highlight.js colours code blocks, and each code block
// gets a copy button.

import { Marked } from "../vendor/marked/marked.esm.js";
import DOMPurify from "../vendor/dompurify/purify.min.mjs";
import hljs from "../vendor/highlight/highlight.min.js";
import dockerfile from "../vendor/highlight/languages/dockerfile.min.js";
import nginx from "../vendor/highlight/languages/nginx.min.js";
import { t } from "./i18n.js";
import { copyText } from "./clipboard.js";
import { h } from "./dom.js";

hljs.registerLanguage("dockerfile", dockerfile);
hljs.registerLanguage("nginx", nginx);
hljs.configure({ ignoreUnescapedHTML: true });

const escapeHtml = (text) =>
  text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const marked = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    // Raw HTML in an answer is shown as text, the way a chat app is expected to: a model that
    // writes "<img src=x onerror=...>" is quoting, not building a page.
    html({ text }) {
      return escapeHtml(text);
    },
    // Remote images would be blocked by the CSP (img-src 'self' data:) and would leak the
    // reader's address to whatever host the model named, so they become plain links.
    image({ href, text }) {
      return `<a href="${escapeHtml(href ?? "")}">${escapeHtml(text || href || "")}</a>`;
    },
  },
});

// Markdown never needs more than this; anything else (forms, iframes, images, styles) goes.
const ALLOWED_TAGS = [
  "a", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
  "hr", "i", "input", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table",
  "tbody", "td", "th", "thead", "tr", "ul",
];
const ALLOWED_ATTR = ["href", "title", "class", "start", "align", "type", "checked", "disabled"];

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.hasAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
  // GFM task lists are the only inputs markdown makes; keep them inert checkboxes.
  if (node.tagName === "INPUT" && node.getAttribute("type") !== "checkbox") node.remove();
  if (node.tagName === "INPUT") node.setAttribute("disabled", "");
});

/** Sanitized HTML for `source` (DOMPurify already drops javascript: and other bad URLs). */
export function toSafeHtml(source) {
  const html = marked.parse(source ?? "", { async: false });
  return DOMPurify.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR: [...ALLOWED_ATTR, "target", "rel"],
    ALLOW_DATA_ATTR: false,
  });
}

/** Render `source` into `container`: sanitized markdown, highlighted code, copy buttons. */
export function renderMarkdown(container, source) {
  container.innerHTML = toSafeHtml(source);
  for (const code of container.querySelectorAll("pre > code")) {
    const lang = /language-([\w+-]+)/.exec(code.className)?.[1];
    if (lang && !hljs.getLanguage(lang)) code.className = ""; // unknown: plain, no console warning
    hljs.highlightElement(code);
    addCopyButton(code.parentElement, code);
  }
}

function addCopyButton(pre, code) {
  const button = h(
    "button",
    { type: "button", class: "copy-code", "aria-label": t("copyCode") },
    t("copy"),
  );
  button.addEventListener("click", async () => {
    await copyText(code.textContent);
    button.textContent = t("copied");
    setTimeout(() => (button.textContent = t("copy")), 1500);
  });
  const label = h("span", {}, /language-([\w+-]+)/.exec(code.className)?.[1] ?? "");
  const wrap = h("div", { class: "code-block" });
  pre.replaceWith(wrap);
  wrap.append(h("div", { class: "code-bar" }, label, button), pre);
}
