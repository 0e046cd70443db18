// The one path from untrusted text to innerHTML: marked, then DOMPurify (under jsdom here, as
// DOMPurify's own tests run), then highlight.js.
import { test } from "node:test";
import assert from "node:assert/strict";

import { installBrowser } from "./browser.mjs";

const { document } = installBrowser({ storage: { lang: "en" } });
const { toSafeHtml, renderMarkdown } = await import("../../frontend/js/markdown.js");

/** `source` rendered into a detached element, for querying. */
function rendered(source) {
  const box = document.createElement("div");
  renderMarkdown(box, source);
  return box;
}

test("raw HTML in an answer is shown as text, never as elements", () => {
  const box = rendered('Look: <img src=x onerror="alert(1)"> and <script>alert(2)</script>');
  assert.equal(box.querySelector("img, script"), null);
  assert.match(box.textContent, /<img src=x onerror="alert\(1\)">/);
  const inline = document.createElement("div");
  inline.innerHTML = toSafeHtml("<b onclick=alert(1)>x</b>");
  assert.equal(inline.querySelector("b, [onclick]"), null);
  assert.equal(inline.textContent.trim(), "<b onclick=alert(1)>x</b>");
});

test("DOMPurify drops javascript: links that marked itself produces", () => {
  const box = rendered("[click me](javascript:alert(1)) and [data](data:text/html,<script>x</script>)");
  const links = [...box.querySelectorAll("a")];
  assert.equal(links.length, 2);
  for (const link of links) assert.equal(link.getAttribute("href"), null, link.outerHTML);
});

test("links open in a new tab without an opener", () => {
  const link = rendered("[docs](https://example.org/a?b=1)").querySelector("a");
  assert.equal(link.getAttribute("href"), "https://example.org/a?b=1");
  assert.equal(link.getAttribute("target"), "_blank");
  assert.equal(link.getAttribute("rel"), "noopener noreferrer");
});

test("images become plain links (no remote request, nothing the CSP would block)", () => {
  const box = rendered("![a cat](https://cats.example/cat.png)");
  assert.equal(box.querySelector("img"), null);
  const link = box.querySelector("a");
  assert.equal(link.getAttribute("href"), "https://cats.example/cat.png");
  assert.equal(link.textContent, "a cat");
});

test("only the allow-listed tags and attributes survive", () => {
  const html = toSafeHtml("| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo\n\n> quote");
  const box = document.createElement("div");
  box.innerHTML = html;
  assert.ok(box.querySelector("table thead th") && box.querySelector("blockquote"));
  const boxes = [...box.querySelectorAll("input")];
  assert.equal(boxes.length, 2);
  for (const input of boxes) {
    assert.equal(input.getAttribute("type"), "checkbox");
    assert.ok(input.hasAttribute("disabled"), "task-list checkboxes stay inert");
  }
  assert.doesNotMatch(toSafeHtml('<form action="/x"><iframe src="//evil"></iframe></form>'), /<form|<iframe/);
});

test("code blocks are highlighted and get a labelled copy button", () => {
  const box = rendered("```python\ndef greet():\n    return 'hi'\n```\n\n```nosuchlang\nplain\n```");
  const [python, unknown] = box.querySelectorAll(".code-block");
  assert.equal(python.querySelector(".code-bar span").textContent, "python");
  assert.equal(python.querySelector(".hljs-keyword").textContent, "def");
  const copy = python.querySelector("button.copy-code");
  assert.equal(copy.textContent, "Copy");
  assert.equal(copy.getAttribute("aria-label"), "Copy code");
  // An unknown language is highlighted as if none was named (no highlight.js warning).
  assert.equal(unknown.querySelector("code").textContent.trim(), "plain");
  assert.doesNotMatch(unknown.querySelector("code").className, /nosuchlang/);
  assert.ok(unknown.querySelector("button.copy-code"));
});
