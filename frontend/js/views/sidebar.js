// Conversation sidebar: new chat, search by title, the list grouped by date (newest activity
// first) with the active one highlighted and each row's last activity as relative time, and
// one "⋯" menu per row (rename inline, delete with confirmation). On narrow screens it is a
// drawer opened from the chat header.
//
// Keyboard: each row is one Tab stop (its link). On the link, Shift+F10 or the context-menu
// key opens the row's menu and → moves to its "⋯" button (tabindex -1, ← goes back), where
// Enter, Space or ↓ open the menu. In the menu ↑ ↓ Home End move, Escape closes it and gives
// the focus back to where the menu was opened from, Tab closes it.

import { state, set, subscribe } from "../state.js";
import { on } from "../events.js";
import { t } from "../i18n.js";
import { $, h, icon, confirmDialog, menuKeydown, toast } from "../dom.js";
import { describe } from "../errors.js";
import { displayTitle } from "../titles.js";
import { fullDateTime, groupByDate, relativeTime } from "../dates.js";
import {
  deleteConversation,
  loadConversations,
  renameConversation,
  startNewChat,
} from "../conversations.js";

// Relative times ("5 minutes ago") and the date groups move on as time passes.
const REFRESH_MS = 60_000;

let renamingId = null;
let searchTimer = null;
let menuFor = null; // {id, opener: "link"|"more"} while a row's menu is open

// -- rendering ----------------------------------------------------------------------------

function render() {
  const list = $("conversation-list");
  // The rows are rebuilt: a keyboard user's place in the list must survive that.
  const focused = document.activeElement?.closest?.(".conversation");
  const focusedPart = document.activeElement?.classList.contains("conversation-more") ? "more" : "link";
  const now = new Date();
  const groups = groupByDate(state.conversations, (c) => c.updated_at, now);
  list.replaceChildren(...groups.map((group) => renderGroup(group, now)));
  if (focused && !renamingId) rowPart(focused.dataset.id, focusedPart)?.focus();
  const empty = $("conversation-empty");
  empty.hidden = state.conversations.length > 0;
  empty.textContent = state.query ? t("noMatches") : t("noConversations");
  if (renamingId) list.querySelector(".rename-input")?.focus();
  if (menuFor) rowPart(menuFor.id, "more")?.setAttribute("aria-expanded", "true");
}

function renderGroup(group, now) {
  const headingId = `group-${group.key}`;
  return h(
    "section",
    { class: "conversation-group", "aria-labelledby": headingId },
    h("h3", { class: "group-label", id: headingId }, group.label),
    h("ul", { class: "conversation-list" }, group.items.map((c) => renderItem(c, now))),
  );
}

function renderItem(conversation, now) {
  const active = conversation.id === state.activeId;
  const title = displayTitle(conversation);
  const updated = new Date(conversation.updated_at);
  const main =
    conversation.id === renamingId
      ? renameInput(conversation)
      : h(
          "a",
          {
            class: "conversation-link",
            href: `#/c/${conversation.id}`,
            "aria-current": active ? "page" : false,
            title,
            onclick: closeDrawer,
            onkeydown: (e) => onLinkKey(e, conversation.id),
          },
          h("span", { class: "conversation-title" }, title),
          h(
            "time",
            {
              class: "conversation-time",
              datetime: conversation.updated_at,
              title: fullDateTime(updated),
            },
            relativeTime(updated, now),
          ),
        );
  const more = h(
    "button",
    {
      type: "button",
      class: "icon-button small conversation-more",
      tabindex: "-1",
      "aria-haspopup": "menu",
      "aria-expanded": "false",
      "aria-controls": "conversation-menu",
      "aria-label": t("conversationActions", { title }),
      title: t("conversationActions", { title }),
      onclick: () => toggleMenu(conversation.id, "more"),
      onkeydown: (e) => onMoreKey(e, conversation.id),
    },
    icon("more"),
  );
  return h(
    "li",
    { class: `conversation${active ? " active" : ""}`, "data-id": conversation.id },
    main,
    conversation.id === renamingId ? null : more,
  );
}

/** A row's link or its "⋯" button, as on screen now (a re-render replaces the nodes). */
function rowPart(id, part) {
  const selector = part === "link" ? ".conversation-link" : ".conversation-more";
  return document.querySelector(`.conversation[data-id="${id}"] ${selector}`);
}

// -- the row menu -------------------------------------------------------------------------

function menuItems() {
  return [...$("conversation-menu").querySelectorAll("[role=menuitem]")];
}

function openMenu(id, opener) {
  if (menuFor) closeMenu();
  const button = rowPart(id, "more");
  if (!button) return;
  menuFor = { id, opener };
  const menu = $("conversation-menu");
  menu.hidden = false;
  // Fixed, next to the "⋯" button, above it when there is no room below (the list scrolls,
  // so a menu inside it would be cut off at its bottom edge).
  const at = button.getBoundingClientRect();
  const below = at.bottom + 4 + menu.offsetHeight <= window.innerHeight;
  menu.style.top = `${below ? at.bottom + 4 : at.top - 4 - menu.offsetHeight}px`;
  menu.style.left = `${Math.max(8, at.right - menu.offsetWidth)}px`;
  button.setAttribute("aria-expanded", "true");
  menuItems()[0].focus();
}

function closeMenu({ restoreFocus = false } = {}) {
  if (!menuFor) return;
  const { id, opener } = menuFor;
  menuFor = null;
  $("conversation-menu").hidden = true;
  // Focus first: the "⋯" button is only visible (so focusable) while expanded or focused.
  if (restoreFocus) rowPart(id, opener)?.focus();
  rowPart(id, "more")?.setAttribute("aria-expanded", "false");
}

function toggleMenu(id, opener) {
  if (menuFor?.id === id) closeMenu({ restoreFocus: true });
  else openMenu(id, opener);
}

function onMenuKey(e) {
  menuKeydown(e, menuItems(), (restoreFocus) => closeMenu({ restoreFocus }));
}

function onLinkKey(e, id) {
  if (e.key === "ContextMenu" || (e.key === "F10" && e.shiftKey)) {
    e.preventDefault();
    openMenu(id, "link");
  } else if (e.key === "ArrowRight") {
    e.preventDefault();
    rowPart(id, "more")?.focus();
  }
}

function onMoreKey(e, id) {
  if (e.key === "ArrowDown") {
    e.preventDefault();
    openMenu(id, "more");
  } else if (e.key === "ArrowLeft") {
    e.preventDefault();
    rowPart(id, "link")?.focus();
  }
}

/** Run a menu item's action on the conversation the menu belongs to. */
function choose(action) {
  return () => {
    const conversation = state.conversations.find((c) => c.id === menuFor?.id);
    closeMenu();
    if (conversation) action(conversation);
  };
}

// -- rename and delete --------------------------------------------------------------------

function renameInput(conversation) {
  // Starts from the title as shown: a new chat's reads "New chat", not the server's "Novo Chat".
  const shown = displayTitle(conversation);
  const input = h("input", {
    class: "rename-input",
    value: shown,
    maxlength: "200",
    "aria-label": t("renameLabel"),
  });
  let finished = false;
  const finish = async (save) => {
    if (finished) return;
    finished = true;
    renamingId = null;
    const title = input.value.trim();
    // The new title is on screen at once (the list re-renders before the server answers), so
    // the focus goes back to the row now, not when the answer comes, by when it may be elsewhere.
    const saving = save && title && title !== shown ? renameConversation(conversation.id, title) : null;
    if (!saving) render();
    rowPart(conversation.id, "link")?.focus();
    await saving;
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      finish(true);
    } else if (e.key === "Escape") {
      e.preventDefault(); // handled: the drawer stays open
      finish(false);
    }
  });
  input.addEventListener("blur", () => finish(true));
  queueMicrotask(() => input.select());
  return input;
}

function startRename(conversation) {
  renamingId = conversation.id;
  render();
}

async function confirmDelete(conversation) {
  const ok = await confirmDialog({
    title: t("deleteChatTitle"),
    text: t("deleteChatText", { title: displayTitle(conversation) }),
    confirm: t("delete"),
  });
  if (ok) await deleteConversation(conversation.id);
  // The menu item that opened the dialog is hidden: put the focus somewhere that exists.
  (rowPart(conversation.id, "link") ?? $("new-chat")).focus();
}

// -- the drawer (phone layout) ------------------------------------------------------------

function openDrawer() {
  document.body.classList.add("drawer-open");
  $("scrim").hidden = false;
  $("open-sidebar").setAttribute("aria-expanded", "true");
  $("new-chat").focus();
}

function closeDrawer() {
  closeMenu();
  if (!document.body.classList.contains("drawer-open")) return;
  document.body.classList.remove("drawer-open");
  $("scrim").hidden = true;
  $("open-sidebar").setAttribute("aria-expanded", "false");
}

export function initSidebar() {
  $("new-chat").addEventListener("click", () => {
    startNewChat();
    closeDrawer();
    $("composer-input").focus();
  });
  $("search-input").addEventListener("input", (e) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      set({ query: e.target.value.trim() });
      loadConversations().catch((err) => toast(describe(err)));
    }, 250);
  });
  $("conversation-menu").addEventListener("keydown", onMenuKey);
  $("conversation-rename").addEventListener("click", choose(startRename));
  $("conversation-delete").addEventListener("click", choose(confirmDelete));
  document.addEventListener("click", (e) => {
    if (!e.target.closest("#conversation-menu, .conversation-more")) closeMenu();
  });
  // The menu is placed where its row was; once the list moves it would point elsewhere.
  $("conversation-nav").addEventListener("scroll", () => closeMenu(), { passive: true });
  window.addEventListener("resize", () => closeMenu());
  $("open-sidebar").addEventListener("click", openDrawer);
  $("close-sidebar").addEventListener("click", () => {
    closeDrawer();
    $("open-sidebar").focus();
  });
  $("scrim").addEventListener("click", closeDrawer);
  document.addEventListener("keydown", (e) => {
    // An Escape a menu or the rename box inside the drawer already handled is theirs alone.
    if (e.key !== "Escape" || e.defaultPrevented) return;
    if (document.body.classList.contains("drawer-open")) {
      closeDrawer();
      $("open-sidebar").focus();
    }
  });
  setInterval(() => {
    if (state.user && !renamingId && !menuFor) render();
  }, REFRESH_MS);
  subscribe(["conversations", "activeId", "query"], render);
  // The search was cleared elsewhere (a new chat, logging out): empty the box to match.
  subscribe(["query"], () => {
    if (!state.query) $("search-input").value = "";
  });
  subscribe(["user"], () => {
    if (state.user) return;
    clearTimeout(searchTimer);
    $("search-input").value = "";
    closeDrawer();
  });
  on("languagechange", render);
}
