// The chat view: the branch of the open conversation being viewed, the composer, streaming
// answers with Stop, following an answer written elsewhere, versions (edit, regenerate,
// ‹ 1/2 ›), the loading and load-failed states, and the empty state with suggestions.
//
// The server stores a turn from the model's first words on and writes the answer as it
// grows, so the screen mirrors the server's rows:
// - a turn is shown at once with local messages; once it ends the branch is read again from
//   the server, so what is on screen is what a reload shows (ids, versions, states);
// - Stop asks the server to stop (POST …/stop): the question and the partial answer stay,
//   marked "Stopped", with Regenerate;
// - a connection cut midway is not a stop: the server goes on writing, so the view follows
//   the answer again (GET …/stream) until it ends, retrying while the network is away;
// - an answer still being written when a conversation opens (a reload, another tab, another
//   device) is followed the same way;
// - a tab left open reads the branch again when it is looked at again (focus, visibility),
//   so what another tab or device did shows, an answer being written there followed too;
// - a turn refused before any answer (a model error, throttling, no network) stores nothing:
//   the local messages go, the text goes back into the composer and an error with Retry shows.

import * as api from "../api.js";
import { state, set, subscribe, activeConversation, updateConversation, updateMessage } from "../state.js";
import { on } from "../events.js";
import { t } from "../i18n.js";
import { $, h, icon, toast } from "../dom.js";
import { describe, describeChat } from "../errors.js";
import { renderMarkdown } from "../markdown.js";
import { copyText } from "../clipboard.js";
import { loadMessages, newChat, refreshShown } from "../conversations.js";
import { displayTitle } from "../titles.js";
import { fullDateTime } from "../dates.js";
import { DEFAULT_MAX_CHARS, measure } from "../limits.js";
import { clearDrafts, loadDraft, removeDraft, saveDraft } from "../drafts.js";

const MAX_COMPOSER_PX = 220;
// After a stop, the stream ends by itself once the writer notices (within a fraction of a
// second); if it hasn't by then, the view closes it.
const STOP_GRACE_MS = 3000;
// Re-attaching after a cut: first retry soon, then back off to this.
const FOLLOW_RETRY_MAX_MS = 5000;

// The turn this view runs or follows: {conversationId, controller, answerId (the server's, once
// known), shownId (the answer's id on screen), stopRequested}. Only the current turn may
// write into the state: every await checks `turn === current` first.
let turn = null;
let retryAction = null; // what the error's Retry button does
let stickToBottom = true; // auto-scroll until the user scrolls up
let frame = 0; // pending requestAnimationFrame that writes streamed text into the state
let pendingPaint = null; // what that frame will write
let localSeq = 0;
let editingId = null; // the question being edited in place
let draftOwner = null; // the conversation id (null: new chat) the composer's text belongs to

const localId = () => `local-${++localSeq}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const maxChars = () => state.config?.limits?.max_message_chars ?? DEFAULT_MAX_CHARS;

// What is on screen for each message id. The state holds the data; this view keeps its own
// nodes, so a repaint rebuilds only the messages whose data changed (a streamed token repaints
// one answer, not the conversation) and the focus and any text selection survive it.
const rendered = new Map(); // id -> {message, flags, article, body}

// -- rendering --------------------------------------------------------------------------

function renderMessages() {
  const list = $("message-list");
  const regenerable = findRegenerable();
  const articles = state.messages.map((m) => articleFor(m, m === regenerable));
  const shown = new Set(state.messages.map((m) => m.id));
  for (const id of rendered.keys()) if (!shown.has(id)) rendered.delete(id);
  // Move only what changed into place, then drop what is left over.
  articles.forEach((article, i) => {
    if (list.children[i] !== article) list.insertBefore(article, list.children[i] ?? null);
  });
  while (list.children.length > articles.length) list.lastElementChild.remove();
  renderStatus();
  $("messages").setAttribute("aria-busy", String(state.streaming || state.messagesStatus === "loading"));
  if (stickToBottom) scrollToBottom();
}

/** Loading, failed to load, empty (suggestions) or the messages: one of them shows. */
function renderStatus() {
  const status = state.messagesStatus;
  const empty = state.messages.length === 0;
  $("chat-loading").hidden = status !== "loading";
  $("chat-load-error").hidden = status !== "failed";
  $("chat-load-error-text").textContent = status === "failed" ? state.messagesError : "";
  $("empty-state").hidden = !empty || status !== "ready";
  $("message-list").hidden = empty;
  renderComposer();
}

/** A search result was opened: once its message is on screen, scroll to it and flash it. */
function focusFoundMessage() {
  const seen = state.focusMessageId === null ? null : rendered.get(state.focusMessageId);
  if (!seen) return;
  set({ focusMessageId: null });
  stickToBottom = false;
  const { article } = seen;
  article.scrollIntoView({ block: "center" });
  article.classList.add("found");
  article.addEventListener("animationend", () => article.classList.remove("found"), { once: true });
}

/** The answer Regenerate would answer again: the last message, a stored answer that ended. */
function findRegenerable() {
  const last = state.messages.at(-1);
  return last && last.role === "ai" && !last.local && last.state !== "streaming" && !state.streaming
    ? last
    : null;
}

/** The message's node: the one on screen if its data is unchanged, else a fresh one. */
function articleFor(message, canRegenerate) {
  const flags = `${canRegenerate}|${editingId === message.id}|${state.streaming}`;
  const seen = rendered.get(message.id);
  if (seen && seen.flags === flags) {
    if (seen.message === message) return seen.article;
    // A streamed answer grows: repaint its text in place (the typing cursor keeps blinking).
    if (
      message.state === "streaming" &&
      seen.message.state === "streaming" &&
      message.reconnecting === seen.message.reconnecting
    ) {
      renderMarkdown(seen.body, message.content);
      seen.message = message;
      return seen.article;
    }
  }
  const { article, body } = renderMessage(message, canRegenerate);
  rendered.set(message.id, { message, flags, article, body });
  return article;
}

function renderMessage(message, canRegenerate) {
  const isAi = message.role === "ai";
  const body = h("div", {
    class: isAi ? "bubble markdown" : "bubble plain",
    // When it was written, on hover (the server's time, or when the stream finished).
    title: message.created_at ? fullDateTime(new Date(message.created_at)) : false,
  });
  if (isAi) renderMarkdown(body, message.content);
  else body.textContent = message.content;
  if (message.state === "streaming") {
    body.classList.add("streaming");
    if (!message.content) body.append(h("span", { class: "typing", "aria-label": t("loading") }));
  }
  const editing = editingId === message.id;
  const content = editing
    ? editor(message)
    : [body, isAi ? answerFooter(message, canRegenerate) : questionFooter(message)];

  const article = h(
    "article",
    {
      class: `message ${isAi ? "ai" : "user"} ${message.state ?? "done"}${editing ? " editing" : ""}`,
      "data-id": message.id,
      "aria-label": isAi ? t("assistant") : t("you"),
    },
    isAi ? h("div", { class: "avatar ai-avatar", "aria-hidden": "true" }, "✦") : null,
    h("div", { class: "message-body" }, content),
  );
  return { article, body };
}

function actionButton(label, iconName, onclick, extraClass = "") {
  return h(
    "button",
    {
      type: "button",
      class: `icon-button small ${extraClass}`.trim(),
      "aria-label": label,
      title: label,
      disabled: state.streaming && extraClass !== "copy-button",
      onclick,
    },
    icon(iconName),
  );
}

function copyButton(message, label) {
  return actionButton(
    label,
    "copy",
    async () => {
      await copyText(message.content);
      toast(t("copied"));
    },
    "copy-button",
  );
}

/** ‹ 1/2 › between the versions of a message (the other answers, the other edits). */
function versionSwitch(message) {
  if (message.local || !(message.versions > 1)) return null;
  const go = (delta) => () => showVersion(message.sibling_ids[message.version - 1 + delta]);
  return h(
    "div",
    { class: "versions", role: "group", "aria-label": t("versionsLabel") },
    h(
      "button",
      {
        type: "button",
        class: "icon-button small",
        "aria-label": t("previousVersion"),
        title: t("previousVersion"),
        disabled: message.version <= 1 || state.streaming,
        onclick: go(-1),
      },
      "‹",
    ),
    h("span", { class: "version-count" }, `${message.version}/${message.versions}`),
    h(
      "button",
      {
        type: "button",
        class: "icon-button small",
        "aria-label": t("nextVersion"),
        title: t("nextVersion"),
        disabled: message.version >= message.versions || state.streaming,
        onclick: go(1),
      },
      "›",
    ),
  );
}

function questionFooter(message) {
  if (message.local) return null;
  return h(
    "div",
    { class: "message-actions" },
    versionSwitch(message),
    copyButton(message, t("copyMessage")),
    actionButton(t("editMessage"), "edit", () => startEdit(message.id), "edit-button"),
  );
}

const ENDINGS = { stopped: "stopped", interrupted: "interrupted", error: "answerFailed" };

function answerFooter(message, canRegenerate) {
  if (message.state === "streaming") {
    return message.reconnecting
      ? h("div", { class: "message-note", role: "status" }, t("reconnecting"))
      : null;
  }
  const ending = ENDINGS[message.state];
  const note = ending ? h("div", { class: "message-note" }, h("span", {}, t(ending))) : null;
  if (message.local) return note;
  const regenerate = canRegenerate
    ? actionButton(t("regenerate"), "refresh", () => runTurn({ regenerate: true }), "regenerate-button")
    : null;
  return [
    note,
    h("div", { class: "message-actions" }, versionSwitch(message), copyButton(message, t("copyAnswer")), regenerate),
  ];
}

function renderHeader() {
  const conversation = activeConversation();
  $("chat-title").textContent = state.activeId ? displayTitle(conversation) : t("newChat");
  document.title = state.activeId ? `${displayTitle(conversation)} · ${t("appName")}` : t("appName");
  const model = state.config?.model;
  $("chat-model").textContent = model ? (model.label || model.name) : "";
  $("chat-model").hidden = !model;
  $("memory-button").hidden = !state.activeId;
}

function renderSuggestions() {
  $("suggestions").replaceChildren(
    ...t("suggestions").map((text) =>
      h(
        "button",
        {
          type: "button",
          class: "suggestion",
          onclick: () => {
            $("composer-input").value = text;
            send();
          },
        },
        text,
      ),
    ),
  );
}

function renderComposer() {
  $("send-button").hidden = state.streaming;
  $("stop-button").hidden = !state.streaming;
  $("stop-button").disabled = Boolean(turn?.stopRequested);
  renderCounter();
}

/** The character counter near the limit; over it, sending is refused here, not by a 422. */
function renderCounter() {
  const limit = maxChars();
  const { count, show, over, excess } = measure($("composer-input").value, limit);
  const counter = $("composer-counter");
  counter.hidden = !show;
  counter.classList.toggle("over", over);
  counter.textContent = show
    ? over
      ? t("tooLongBy", { count: count.toLocaleString(), limit: limit.toLocaleString(), excess: excess.toLocaleString() })
      : t("charCount", { count: count.toLocaleString(), limit: limit.toLocaleString() })
    : "";
  $("composer-input").setAttribute("aria-invalid", String(over));
  $("send-button").disabled = over || state.messagesStatus !== "ready";
}

// -- scrolling ----------------------------------------------------------------------------

function scrollToBottom() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
}

function onScroll() {
  const box = $("messages");
  const distance = box.scrollHeight - box.scrollTop - box.clientHeight;
  stickToBottom = distance < 48;
  $("jump-latest").hidden = stickToBottom;
}

// -- errors -------------------------------------------------------------------------------

function showError(message, retry) {
  $("chat-error-text").textContent = message;
  $("chat-error").hidden = false;
  retryAction = retry;
  $("chat-retry").hidden = !retry;
}

function hideError() {
  $("chat-error").hidden = true;
  retryAction = null;
}

// -- the composer and its draft ----------------------------------------------------------

function autosize() {
  const input = $("composer-input");
  // CSSOM writes are allowed under the CSP (only style attributes in markup are blocked).
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, MAX_COMPOSER_PX)}px`;
}

/** Put `text` in the composer as the draft of the conversation on screen. */
function setComposer(text) {
  $("composer-input").value = text;
  autosize();
  renderCounter();
  if (state.user) saveDraft(state.user.user_id, draftOwner, text);
}

/** Another conversation is on screen: the composer shows its draft. */
function swapDraft() {
  draftOwner = state.activeId;
  $("composer-input").value = state.user ? loadDraft(state.user.user_id, draftOwner) : "";
  autosize();
  renderCounter();
}

function send() {
  const input = $("composer-input");
  const text = input.value.trim();
  if (!text || state.streaming || state.messagesStatus !== "ready") return;
  if (measure(text, maxChars()).over) return; // the counter says why
  runTurn({ text, fromComposer: true });
}

// -- turns --------------------------------------------------------------------------------

/**
 * Ask for an answer: a new message (`text`), an edited earlier question (`text` + `editOf`)
 * or a fresh answer to the last question (`regenerate`). See the top of this file for what
 * each outcome leaves on screen.
 */
async function runTurn({ text = null, regenerate = false, editOf = null, fromComposer = false }) {
  if (state.streaming) return;
  hideError();
  const draftOf = state.activeId;
  let conversationId = state.activeId;
  if (!conversationId) {
    // Busy from the first moment: a second Enter while the chat is created sends nothing.
    set({ streaming: true });
    conversationId = await newChat();
    if (!conversationId) {
      set({ streaming: false });
      return;
    }
  }

  const before = state.messages;
  const answer = { id: localId(), role: "ai", content: "", state: "streaming", local: true };
  let shown;
  if (regenerate) {
    // The answer on screen is replaced by the new one; the server keeps it as a version.
    shown = before.at(-1)?.role === "ai" ? [...before.slice(0, -1), answer] : [...before, answer];
  } else {
    const question = { id: localId(), role: "user", content: text, state: "done", local: true };
    const at = editOf === null ? before.length : before.findIndex((m) => m.id === editOf);
    shown = [...before.slice(0, at < 0 ? before.length : at), question, answer];
  }
  if (fromComposer) {
    if (state.user) removeDraft(state.user.user_id, draftOf);
    setComposer("");
  }
  const current = {
    conversationId,
    controller: new AbortController(),
    answerId: null,
    shownId: answer.id,
    stopRequested: false,
  };
  turn = current;
  stickToBottom = true;
  set({ streaming: true, messages: shown });

  let content = "";
  const payload = regenerate
    ? { conversationId, regenerate: true }
    : editOf === null
      ? { conversationId, message: text }
      : { conversationId, message: text, editOf };
  try {
    const done = await api.streamChat(payload, {
      signal: current.controller.signal,
      onStart: (ids) => {
        current.answerId = ids.ai_message_id;
        if (current.stopRequested) requestStop(current);
      },
      onToken: (piece) => {
        content += piece;
        queuePaint(answer.id, () => content);
      },
    });
    const fields = { updated_at: new Date().toISOString() };
    if (done.title) fields.title = done.title;
    updateConversation(conversationId, fields, { toTop: true });
    await endTurn(current, done.state ?? "done");
  } catch (err) {
    if (turn !== current) return; // left meanwhile: the server goes on, nothing to show here
    if (current.answerId !== null) {
      // The rows exist. A cut connection: follow the answer again. Closed by us after a stop,
      // or failed midway (kept as "error"): the stored branch says how it ended.
      if (err.name !== "AbortError" && err.status === 0) await follow(current);
      else await endTurn(current, err.name === "AbortError" ? "stopped" : "error");
      return;
    }
    // Refused (or stopped) before any answer: nothing was stored.
    endLocally(current, before);
    if (text !== null && fromComposer && !$("composer-input").value.trim()) {
      setComposer(text); // never lose what the user wrote: it goes back where they typed it
    }
    if (err.name === "AbortError" || current.stopRequested) return;
    const retry = regenerate
      ? () => runTurn({ regenerate: true })
      : editOf !== null
        ? () => runTurn({ text, editOf })
        : send;
    showError(describeChat(err), retry);
    if (err.status === 404) location.hash = "#/";
  }
}

/**
 * Follow the answer of `current` (its rows exist) until it is no longer being written, then
 * show the stored branch. A cut connection is retried, backing off, while this turn is the
 * view's: the server writes the answer whether or not anyone reads it.
 */
async function follow(current) {
  let delay = 500;
  let ended = "done";
  for (;;) {
    let content = "";
    try {
      ({ state: ended } = await api.followAnswer(current.conversationId, current.answerId, {
        signal: current.controller.signal,
        onToken: (piece) => {
          content += piece;
          queuePaint(current.shownId, () => content, { reconnecting: false });
        },
      }));
      break;
    } catch (err) {
      if (turn !== current) return;
      if (err.name === "AbortError" || err.status !== 0) break; // gone (404) or ours: reload
      updateMessage(current.shownId, { reconnecting: true });
      await sleep(delay);
      delay = Math.min(delay * 2, FOLLOW_RETRY_MAX_MS);
      if (turn !== current) return;
    }
  }
  await endTurn(current, ended);
}

/** An answer still being written is on screen and no turn of ours runs: follow it. */
function followIfWritten() {
  const last = state.messages.at(-1);
  if (turn || state.streaming || state.messagesStatus !== "ready") return;
  if (!last || last.role !== "ai" || last.state !== "streaming" || last.local) return;
  const current = {
    conversationId: state.activeId,
    controller: new AbortController(),
    answerId: last.id,
    shownId: last.id,
    stopRequested: false,
  };
  turn = current;
  stickToBottom = true;
  set({ streaming: true });
  follow(current);
}

/**
 * The turn ended (`ended`: how, as far as this page knows). It is shown ended at once, so
 * the next message can go straight away; then the branch is read again and shown as stored
 * (ids, versions, how the answer really ended) unless the screen moved on meanwhile.
 */
async function endTurn(current, ended = "done") {
  if (turn !== current) return;
  flushPaint();
  turn = null;
  const now = new Date().toISOString();
  set({
    streaming: false,
    messages: state.messages.map((m) =>
      m.state === "streaming" ? { ...m, state: ended, reconnecting: false, created_at: now } : m,
    ),
  });
  const shown = state.messages;
  let messages;
  try {
    messages = await api.listMessages(current.conversationId);
  } catch {
    return; // keep what is on screen; the next open reads it again
  }
  if (!turn && state.activeId === current.conversationId && state.messages === shown) {
    set({ messages, messagesStatus: "ready" });
  }
}

/** The turn ended with nothing stored: back to `messages`. */
function endLocally(current, messages) {
  cancelAnimationFrame(frame);
  frame = 0;
  pendingPaint = null;
  turn = null;
  set({ streaming: false, messages });
}

/** Leave the running turn to the server (another conversation opened, logged out). */
function detach() {
  if (!turn) return;
  const current = turn;
  turn = null;
  current.controller.abort();
  cancelAnimationFrame(frame);
  frame = 0;
  pendingPaint = null;
  set({ streaming: false });
}

/** Write the streamed text into the state at most once per frame (tokens come faster). */
function queuePaint(id, read, extra = {}) {
  pendingPaint = () => updateMessage(id, { content: read(), ...extra });
  if (frame) return;
  frame = requestAnimationFrame(flushPaint);
}

/** Write what is still waiting for the next frame now (a turn ends: its last words count). */
function flushPaint() {
  cancelAnimationFrame(frame);
  frame = 0;
  const paint = pendingPaint;
  pendingPaint = null;
  paint?.();
}

/** Stop: the server keeps the question and the answer so far (state "stopped"). */
function stop() {
  const current = turn;
  if (!current || current.stopRequested) return;
  current.stopRequested = true;
  renderComposer();
  // Before the `start` event nothing is stored yet: onStart sends the stop once it is.
  if (current.answerId !== null) requestStop(current);
  else setTimeout(() => turn === current && current.answerId === null && current.controller.abort(), STOP_GRACE_MS);
}

async function requestStop(current) {
  try {
    await api.stopAnswer(current.conversationId, current.answerId);
  } catch (err) {
    if (turn === current) toast(describe(err));
  }
  // The stream ends on its own once the writer notices; close it if that takes too long.
  setTimeout(() => turn === current && current.controller.abort(), STOP_GRACE_MS);
}

// -- versions and edits -------------------------------------------------------------------

async function showVersion(messageId) {
  if (state.streaming || messageId === undefined) return;
  const id = state.activeId;
  try {
    const messages = await api.switchVersion(id, messageId);
    if (state.activeId === id && !state.streaming) {
      stickToBottom = false;
      set({ messages });
    }
  } catch (err) {
    toast(describe(err));
  }
}

function startEdit(id) {
  if (state.streaming) return;
  editingId = id;
  renderMessages();
  const input = document.querySelector(".message.editing textarea");
  input?.focus();
  input?.setSelectionRange(input.value.length, input.value.length);
}

function cancelEdit() {
  const id = editingId;
  editingId = null;
  renderMessages();
  rendered.get(id)?.article.querySelector(".edit-button")?.focus();
}

/** The inline editor of a question: Save & send resends it as a new version (editOf). */
function editor(message) {
  const input = h("textarea", {
    class: "edit-input",
    rows: "3",
    "aria-label": t("editMessage"),
  });
  input.value = message.content;
  const error = h("p", { class: "edit-error", role: "status" });
  const save = h("button", { type: "button", class: "primary-button small" }, t("saveAndSend"));
  const check = () => {
    const { over, excess } = measure(input.value, maxChars());
    error.textContent = over ? t("tooLongShort", { excess: excess.toLocaleString() }) : "";
    error.hidden = !over;
    save.disabled = over || !input.value.trim();
    input.setAttribute("aria-invalid", String(over));
  };
  const submit = () => {
    const text = input.value.trim();
    if (save.disabled || !text) return;
    editingId = null;
    if (text === message.content) {
      renderMessages();
      return;
    }
    runTurn({ text, editOf: message.id });
  };
  save.addEventListener("click", submit);
  input.addEventListener("input", check);
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    } else if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      cancelEdit();
    }
  });
  check();
  return h(
    "div",
    { class: "editor" },
    input,
    error,
    h(
      "div",
      { class: "editor-actions" },
      h("button", { type: "button", class: "secondary-button small", onclick: cancelEdit }, t("cancel")),
      save,
    ),
  );
}

export function initChatView() {
  const input = $("composer-input");
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    send();
  });
  input.addEventListener("keydown", (e) => {
    // isComposing: Enter that confirms an IME composition must not send.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });
  input.addEventListener("input", () => {
    autosize();
    renderCounter();
    if (state.user) saveDraft(state.user.user_id, draftOwner, input.value);
  });
  $("stop-button").addEventListener("click", () => {
    stop();
    input.focus();
  });
  $("chat-retry").addEventListener("click", () => retryAction?.());
  $("chat-load-retry").addEventListener("click", () => loadMessages());
  $("messages").addEventListener("scroll", onScroll, { passive: true });
  $("jump-latest").addEventListener("click", () => {
    stickToBottom = true;
    scrollToBottom();
    $("jump-latest").hidden = true;
  });
  // Escape stops a running answer from anywhere (dialogs and the editor handle theirs first).
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !e.defaultPrevented && state.streaming && !document.querySelector("dialog[open]")) {
      stop();
    }
  });

  // Another conversation (or none) is opened: the running answer goes on at the server (come
  // back and it is followed again); this screen shows the other one, with its own draft.
  subscribe(["activeId"], () => {
    detach();
    hideError();
    editingId = null;
    stickToBottom = true;
    swapDraft();
  });
  // Logged in: this user's draft for the screen; logged out: nothing of theirs stays.
  subscribe(["user"], () => {
    if (state.user) {
      swapDraft();
      return;
    }
    detach();
    hideError();
    editingId = null;
    input.value = "";
    autosize();
  });
  on("logout", () => {
    if (state.user) clearDrafts(state.user.user_id);
  });
  // Back to this tab (or window): what other tabs and devices did meanwhile shows without a
  // reload. Not while a question is being edited (also one opened by the click that focused
  // the window): the editor would be drawn away.
  const refreshIfShown = () => {
    if (document.visibilityState === "visible" && state.user) refreshShown(() => editingId === null);
  };
  document.addEventListener("visibilitychange", refreshIfShown);
  window.addEventListener("focus", refreshIfShown);
  subscribe(["messages", "streaming", "messagesStatus"], renderMessages);
  // After renderMessages (subscribed first), so the message's node is on screen.
  subscribe(["messages", "focusMessageId"], focusFoundMessage);
  subscribe(["messages", "messagesStatus"], followIfWritten);
  subscribe(["streaming"], renderComposer);
  subscribe(["activeId", "conversations", "config"], renderHeader);
  subscribe(["config"], renderCounter);
  on("languagechange", () => {
    rendered.clear();
    renderMessages();
    renderHeader();
    renderSuggestions();
  });
  renderSuggestions();
  renderComposer();
  renderHeader();
  renderMessages();
}
