// Conversation sidebar: new chat, search by title, the list (newest activity first) with the
// active one highlighted, inline rename and delete with confirmation. On narrow screens it is
// a drawer opened from the chat header.

import { state, set, subscribe } from "../state.js";
import { on } from "../events.js";
import { t } from "../i18n.js";
import { $, h, icon, confirmDialog, toast } from "../dom.js";
import { describe } from "../errors.js";
import { displayTitle } from "../titles.js";
import {
  deleteConversation,
  loadConversations,
  newChat,
  renameConversation,
} from "../conversations.js";

let renamingId = null;
let searchTimer = null;

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
          onclick: () => confirmDelete(conversation),
        },
        icon("trash"),
      ),
    ),
  );
}

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
    if (save && title && title !== shown) {
      await renameConversation(conversation.id, title);
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

async function confirmDelete(conversation) {
  const ok = await confirmDialog({
    title: t("deleteChatTitle"),
    text: t("deleteChatText", { title: displayTitle(conversation) }),
    confirm: t("delete"),
  });
  if (ok) await deleteConversation(conversation.id);
}

function openDrawer() {
  document.body.classList.add("drawer-open");
  $("scrim").hidden = false;
  $("open-sidebar").setAttribute("aria-expanded", "true");
  $("new-chat").focus();
}

function closeDrawer() {
  if (!document.body.classList.contains("drawer-open")) return;
  document.body.classList.remove("drawer-open");
  $("scrim").hidden = true;
  $("open-sidebar").setAttribute("aria-expanded", "false");
}

export function initSidebar() {
  $("new-chat").addEventListener("click", async () => {
    if (await newChat()) {
      closeDrawer();
      $("composer-input").focus();
    }
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
