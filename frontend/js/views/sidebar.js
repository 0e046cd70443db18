// Conversation sidebar: new chat, search by title, the list (newest activity first) with the
// active one highlighted, inline rename and delete with confirmation. On narrow screens it is
// a drawer opened from the chat header.

import * as api from "../api.js";
import { state, set, subscribe, updateConversation } from "../state.js";
import { t } from "../i18n.js";
import { h, icon, confirmDialog, toast } from "../dom.js";
import { describe } from "../errors.js";

const $ = (id) => document.getElementById(id);
let renamingId = null;
let searchTimer = null;
let searchSeq = 0;

// The API names every new conversation "Novo Chat"; show that in the reader's language.
const SERVER_DEFAULT_TITLE = "Novo Chat";

export const displayTitle = (conversation) =>
  conversation?.title && conversation.title !== SERVER_DEFAULT_TITLE
    ? conversation.title
    : t("untitled");

/** Reload the list from the server with the current search text. */
export async function loadConversations() {
  const seq = ++searchSeq;
  const page = await api.listConversations(state.query);
  // A slower, older search must not overwrite the answer to a newer one.
  if (seq === searchSeq) set({ conversations: page.items });
}

function render() {
  const list = $("conversation-list");
  list.replaceChildren(...state.conversations.map(renderItem));
  const empty = $("conversation-empty");
  empty.hidden = state.conversations.length > 0;
  empty.textContent = state.query ? t("noMatches") : t("noConversations");
  if (renamingId) list.querySelector(".rename-input")?.focus();
}

function renderItem(conversation) {
  const active = conversation.id === state.activeId;
  const title = displayTitle(conversation);
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
          },
          title,
        );
  return h(
    "li",
    { class: `conversation${active ? " active" : ""}`, "data-id": conversation.id },
    main,
    h(
      "div",
      { class: "conversation-actions" },
      h(
        "button",
        {
          type: "button",
          class: "icon-button small rename-button",
          "aria-label": `${t("rename")}: ${title}`,
          title: t("rename"),
          onclick: () => startRename(conversation.id),
        },
        icon("edit"),
      ),
      h(
        "button",
        {
          type: "button",
          class: "icon-button small delete-button",
          "aria-label": `${t("delete")}: ${title}`,
          title: t("delete"),
          onclick: () => removeConversation(conversation),
        },
        icon("trash"),
      ),
    ),
  );
}

function renameInput(conversation) {
  const input = h("input", {
    class: "rename-input",
    value: conversation.title ?? "",
    maxlength: "200",
    "aria-label": t("renameLabel"),
  });
  let finished = false;
  const finish = async (save) => {
    if (finished) return;
    finished = true;
    renamingId = null;
    const title = input.value.trim();
    if (save && title && title !== conversation.title) {
      updateConversation(conversation.id, { title }); // optimistic; reverted on failure
      try {
        const saved = await api.renameConversation(conversation.id, title);
        updateConversation(conversation.id, { title: saved.title });
      } catch (err) {
        updateConversation(conversation.id, { title: conversation.title });
        toast(describe(err));
      }
    } else {
      render();
    }
    document.querySelector(`.conversation[data-id="${conversation.id}"] .conversation-link`)?.focus();
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      finish(true);
    } else if (e.key === "Escape") {
      e.preventDefault();
      finish(false);
    }
  });
  input.addEventListener("blur", () => finish(true));
  queueMicrotask(() => input.select());
  return input;
}

function startRename(id) {
  renamingId = id;
  render();
}

async function removeConversation(conversation) {
  const ok = await confirmDialog({
    title: t("deleteChatTitle"),
    text: t("deleteChatText", { title: displayTitle(conversation) }),
    confirm: t("delete"),
  });
  if (!ok) return;
  try {
    await api.deleteConversation(conversation.id);
  } catch (err) {
    if (err.status !== 404) {
      toast(describe(err));
      return;
    }
  }
  set({ conversations: state.conversations.filter((c) => c.id !== conversation.id) });
  if (state.activeId === conversation.id) location.hash = "#/";
}

/**
 * Create a conversation (POST /session), put it at the top of the list and open it.
 * Returns its id, or null when the server refused (the reason is shown as a toast).
 */
export async function newChat() {
  let created;
  try {
    created = await api.createConversation();
  } catch (err) {
    toast(describe(err));
    return null;
  }
  const now = new Date().toISOString();
  const item = { id: created.sessionId, title: created.title, created_at: now, updated_at: now };
  // A search would hide the new chat; clear it so the user sees what they just made.
  if (state.query) {
    $("search-input").value = "";
    set({ query: "" });
    await loadConversations().catch(() => {});
  }
  if (!state.conversations.some((c) => c.id === item.id)) {
    set({ conversations: [item, ...state.conversations] });
  }
  // Set the state before the hash so the router sees nothing left to load.
  set({ activeId: item.id, messages: [] });
  location.hash = `#/c/${item.id}`;
  closeDrawer();
  return item.id;
}

export function openDrawer() {
  document.body.classList.add("drawer-open");
  $("scrim").hidden = false;
  $("open-sidebar").setAttribute("aria-expanded", "true");
  $("new-chat").focus();
}

export function closeDrawer() {
  if (!document.body.classList.contains("drawer-open")) return;
  document.body.classList.remove("drawer-open");
  $("scrim").hidden = true;
  $("open-sidebar").setAttribute("aria-expanded", "false");
}

export function initSidebar() {
  $("new-chat").addEventListener("click", async () => {
    if (await newChat()) $("composer-input").focus();
  });
  $("search-input").addEventListener("input", (e) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      set({ query: e.target.value.trim() });
      loadConversations().catch((err) => toast(describe(err)));
    }, 250);
  });
  $("open-sidebar").addEventListener("click", openDrawer);
  $("close-sidebar").addEventListener("click", () => {
    closeDrawer();
    $("open-sidebar").focus();
  });
  $("scrim").addEventListener("click", closeDrawer);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && document.body.classList.contains("drawer-open")) {
      closeDrawer();
      $("open-sidebar").focus();
    }
  });
  subscribe(["conversations", "activeId", "query"], render);
  document.addEventListener("languagechange", render);
}
