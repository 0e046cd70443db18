// What the UI does with conversations: load the list, start a new chat, create one, open one,
// rename, delete.
// Each action calls api.js and writes the outcome into the state; the views draw it. Failures
// the user should see are toasts; the views need not know how an action went unless it returns.

import * as api from "./api.js";
import { state, set, updateConversation } from "./state.js";
import { clearToast, toast } from "./dom.js";
import { describe, describeChat } from "./errors.js";

let listSeq = 0;

/** Reload the list from the server with the current search text. */
export async function loadConversations() {
  const seq = ++listSeq;
  const page = await api.listConversations(state.query);
  // A slower, older search must not overwrite the answer to a newer one.
  if (seq === listSeq) set({ conversations: page.items });
}

/**
 * The "New chat" button: the empty chat screen (#/), with nothing stored yet. The
 * conversation is created by newChat() when its first message is sent, so clicking New chat
 * again and again leaves no empty conversations behind; on that screen already, it does nothing.
 */
export function startNewChat() {
  if (state.activeId === null) return;
  location.hash = "#/";
}

/**
 * Create a conversation (POST /session), put it at the top of the list and open it: the
 * chat view calls this when the first message of a new chat is sent.
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
  const item = {
    id: created.sessionId,
    title: created.title,
    title_is_custom: false, // POST /session always answers with the default title
    created_at: now,
    updated_at: now,
  };
  // A search would hide the new chat; clear it so the user sees what they just made.
  if (state.query) {
    set({ query: "" });
    await loadConversations().catch(() => {});
  }
  if (!state.conversations.some((c) => c.id === item.id)) {
    set({ conversations: [item, ...state.conversations] });
  }
  // Set the state before the hash so the router sees nothing left to load.
  set({ activeId: item.id, messages: [], messagesStatus: "ready" });
  location.hash = `#/c/${item.id}`;
  return item.id;
}

/** Show conversation `id` (null: the empty "new chat" screen) with its stored history. */
export async function openConversation(id) {
  if (id === state.activeId) return; // e.g. the hash change that newChat() itself made
  clearToast(); // what the last screen said is not about this one
  set({ activeId: id, messages: [], messagesStatus: id ? "loading" : "ready" });
  if (id) await loadMessages(id);
}

/**
 * (Re)load the open conversation's branch. A failure other than "gone" stays on the chat
 * screen as an error with Retry (`messagesStatus: "failed"`), not as a passing toast.
 */
export async function loadMessages(id = state.activeId) {
  if (!id) return;
  set({ messagesStatus: "loading" });
  try {
    const messages = await api.listMessages(id);
    if (state.activeId === id && !state.streaming) set({ messages, messagesStatus: "ready" });
  } catch (err) {
    if (state.activeId !== id) return;
    if (err.status === 404 || err.status === 422) {
      // Leave without a hash change, whose screen change would clear the toast below.
      set({ activeId: null, messagesStatus: "ready" });
      history.replaceState(null, "", "#/");
      toast(describeChat(err));
      return;
    }
    set({ messagesStatus: "failed", messagesError: describe(err) });
  }
}

let refreshing = null;

/**
 * The tab is shown again: read the list and the open branch again, quietly (no loading
 * state), so what another tab or device did meanwhile shows without a reload. An answer
 * still being written there is then followed here (the chat view follows any answer it is
 * shown streaming). Each part is replaced only if nothing changed it meanwhile here (a
 * search, a new chat, a turn), and the branch only while `canReplace()` (no edit open). A
 * failure keeps the screen; a conversation deleted elsewhere is left as an open does.
 * One refresh at a time.
 */
export function refreshShown(canReplace = () => true) {
  refreshing ??= refreshNow(canReplace).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

async function refreshNow(canReplace) {
  const { query, conversations } = state;
  const page = await api.listConversations(query).catch(() => null);
  if (page && state.query === query && state.conversations === conversations) {
    set({ conversations: page.items });
  }
  const id = state.activeId;
  if (!id || state.streaming || state.messagesStatus !== "ready") return;
  const shown = state.messages;
  let messages;
  try {
    messages = await api.listMessages(id);
  } catch (err) {
    if (err.status === 404 && state.activeId === id) await loadMessages(id);
    return;
  }
  const unchanged = JSON.stringify(messages) === JSON.stringify(shown);
  const untouched = state.activeId === id && !state.streaming && state.messages === shown;
  if (!unchanged && untouched && canReplace()) set({ messages });
}

/** Rename at once on screen; put the old title back if the server refuses. */
export async function renameConversation(id, title) {
  const before = state.conversations.find((c) => c.id === id);
  if (!before) return;
  updateConversation(id, { title, title_is_custom: true });
  try {
    const saved = await api.renameConversation(id, title);
    updateConversation(id, { title: saved.title, title_is_custom: saved.title_is_custom ?? true });
  } catch (err) {
    updateConversation(id, { title: before.title, title_is_custom: before.title_is_custom });
    toast(describe(err));
  }
}

/** Delete a conversation (already gone counts as done) and leave it if it was open. */
export async function deleteConversation(id) {
  try {
    await api.deleteConversation(id);
  } catch (err) {
    if (err.status !== 404) {
      toast(describe(err));
      return;
    }
  }
  set({ conversations: state.conversations.filter((c) => c.id !== id) });
  if (state.activeId === id) location.hash = "#/";
}
