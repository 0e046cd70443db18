// Message search: the sidebar's search box also searches inside every message (GET /search),
// debounced, and lists the matches under the box with the matched words marked. A result opens
// its conversation; the chat view scrolls to that message and flashes it (state.focusMessageId).
// The only tie to the sidebar is its search input, which this view listens to as well.

import * as api from "../api.js";
import { state, set, subscribe } from "../state.js";
import { on } from "../events.js";
import { t } from "../i18n.js";
import { $, h } from "../dom.js";
import { describe } from "../errors.js";
import { splitHighlights } from "../snippets.js";

const DEBOUNCE_MS = 250;
const MIN_CHARS = 2; // one letter would match half of everything
const MAX_CHARS = 200; // the API's limit for q

let timer = null;
let seq = 0;
// What is shown: {query, items, hasMore} after an answer; {query, error} after a failure.
let shown = null;
let loading = false;
let panel = null;

function clear() {
  clearTimeout(timer);
  seq++; // an answer still on its way is for a search that no longer exists
  shown = null;
  loading = false;
  render();
}

async function run(query) {
  const mine = ++seq;
  loading = true;
  render();
  try {
    const page = await api.searchMessages(query);
    if (mine !== seq) return;
    shown = { query, items: page.items, hasMore: page.has_more };
  } catch (err) {
    if (mine !== seq) return;
    shown = { query, error: describe(err) };
  }
  loading = false;
  render();
}

function onInput(e) {
  clearTimeout(timer);
  // Not trimmed at the end: "trav" is a word being typed (matched as a prefix), "trav " is not.
  const query = e.target.value.trimStart().slice(0, MAX_CHARS);
  if (query.trim().length < MIN_CHARS) {
    clear();
    return;
  }
  timer = setTimeout(() => run(query), DEBOUNCE_MS);
}

function render() {
  const list = panel.querySelector(".message-search-results");
  const status = panel.querySelector(".message-search-status");
  panel.hidden = !shown && !loading;
  panel.querySelector(".message-search-title").textContent = t("searchMessagesTitle");
  panel.setAttribute("aria-busy", String(loading));
  if (loading && !shown) status.textContent = t("searchMessagesLoading");
  else if (shown?.error) status.textContent = shown.error;
  else if (shown && shown.items.length === 0) status.textContent = t("searchMessagesNone");
  else if (shown) {
    const count = shown.hasMore ? `${shown.items.length}+` : String(shown.items.length);
    status.textContent = t("searchMessagesCount", { count });
  }
  list.replaceChildren(...(shown?.items ?? []).map(renderHit));
}

function renderHit(hit) {
  const snippet = splitHighlights(hit.snippet, hit.highlights).map((piece) =>
    piece.hit ? h("mark", {}, piece.text) : piece.text,
  );
  return h(
    "li",
    {},
    h(
      "a",
      {
        class: "message-hit",
        href: `#/c/${hit.conversation_id}`,
        "data-message-id": hit.message_id,
        onclick: (e) => openHit(e, hit),
      },
      h("span", { class: "message-hit-title" }, hit.conversation_title),
      h(
        "span",
        { class: "message-hit-snippet" },
        h("span", { class: "message-hit-role" }, `${hit.role === "ai" ? t("assistant") : t("you")}: `),
        snippet,
      ),
    ),
  );
}

function openHit(e, hit) {
  e.preventDefault();
  set({ focusMessageId: hit.message_id });
  // On a phone the sidebar is a drawer over the chat: close it the way its own button does.
  if (document.body.classList.contains("drawer-open")) $("close-sidebar").click();
  location.hash = `#/c/${hit.conversation_id}`;
}

/** ↓ from the search box enters the results; ↑ ↓ Home End move in them; Escape goes back. */
function onKeydown(e) {
  const links = [...panel.querySelectorAll(".message-hit")];
  if (links.length === 0) return;
  const input = $("search-input");
  const at = links.indexOf(document.activeElement);
  let next = null;
  if (e.target === input) {
    if (e.key === "ArrowDown") next = links[0];
  } else if (at !== -1) {
    if (e.key === "ArrowDown") next = links[Math.min(at + 1, links.length - 1)];
    else if (e.key === "ArrowUp") next = at === 0 ? input : links[at - 1];
    else if (e.key === "Home") next = links[0];
    else if (e.key === "End") next = links.at(-1);
    else if (e.key === "Escape") next = input;
  }
  if (!next) return;
  e.preventDefault();
  e.stopPropagation(); // Escape here must not also close the drawer
  next.focus();
}

export function initSearch() {
  const input = $("search-input");
  panel = h(
    "section",
    { class: "message-search", hidden: true, "aria-labelledby": "message-search-title" },
    h("h2", { id: "message-search-title", class: "message-search-title" }),
    h("p", { class: "message-search-status", role: "status" }),
    h("ul", { class: "message-search-results" }),
  );
  input.closest(".search").after(panel);
  input.addEventListener("input", onInput);
  input.addEventListener("keydown", onKeydown);
  panel.addEventListener("keydown", onKeydown);
  // The sidebar empties the box when its search is cleared elsewhere (a new chat, logging out).
  subscribe(["query"], () => {
    if (!state.query && !input.value) clear();
  });
  subscribe(["user"], () => {
    if (!state.user) clear();
  });
  on("languagechange", render);
}
