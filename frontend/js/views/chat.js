// The chat view: the messages of the open conversation, the composer, streaming answers with
// Stop, regenerate, inline errors with Retry, and the empty state with suggestions.
//
// A turn is shown optimistically (the user's message and a growing answer) while it streams.
// The server saves a turn only when it completes, so the view mirrors that:
// - it completes: the messages get their server ids and stay;
// - it fails (model error, throttling, lost connection): the turn is taken out again, the
//   user's text goes back into the composer and an error with Retry appears;
// - the user stops it: the partial answer stays on screen marked "stopped, not saved" (it is
//   gone after a reload, as it was never stored) with a Retry that asks again.

import * as api from "../api.js";
import {
  state,
  set,
  subscribe,
  activeConversation,
  updateConversation,
  updateMessage,
} from "../state.js";
import { on } from "../events.js";
import { t } from "../i18n.js";
import { $, h, icon, toast } from "../dom.js";
import { describeChat } from "../errors.js";
import { renderMarkdown } from "../markdown.js";
import { copyText } from "../clipboard.js";
import { newChat } from "../conversations.js";
import { displayTitle } from "../titles.js";
import { fullDateTime } from "../dates.js";

const MAX_COMPOSER_PX = 220;

let controller = null; // AbortController of the running stream
let retryAction = null; // what the error's Retry button does
let stickToBottom = true; // auto-scroll until the user scrolls up
let frame = 0; // pending requestAnimationFrame that writes streamed text into the state
let localSeq = 0;

const localId = () => `local-${++localSeq}`;

// What is on screen for each message id. The state holds the data; this view keeps its own
// nodes, so a repaint rebuilds only the messages whose data changed (a streamed token repaints
// one answer, not the conversation) and the focus and any text selection survive it.
const rendered = new Map(); // id -> {message, canRegenerate, article, body}

// -- rendering --------------------------------------------------------------------------

function renderMessages() {
  const list = $("message-list");
  const lastSavedAi = findLastSavedAi();
  const articles = state.messages.map((m) => articleFor(m, m === lastSavedAi));
  const shown = new Set(state.messages.map((m) => m.id));
  for (const id of rendered.keys()) if (!shown.has(id)) rendered.delete(id);
  // Move only what changed into place, then drop what is left over.
  articles.forEach((article, i) => {
    if (list.children[i] !== article) list.insertBefore(article, list.children[i] ?? null);
  });
  while (list.children.length > articles.length) list.lastElementChild.remove();
  $("empty-state").hidden = state.messages.length > 0;
  list.hidden = state.messages.length === 0;
  $("messages").setAttribute("aria-busy", String(state.streaming));
  if (stickToBottom) scrollToBottom();
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

/** The answer that "Regenerate" would replace: the last message, when it is a saved answer. */
function findLastSavedAi() {
  const last = state.messages.at(-1);
  return last && last.role === "ai" && !last.status && !state.streaming ? last : null;
}

/** The message's node: the one on screen if its data is unchanged, else a fresh one. */
function articleFor(message, canRegenerate) {
  const seen = rendered.get(message.id);
  if (seen && seen.canRegenerate === canRegenerate) {
    if (seen.message === message) return seen.article;
    // A streamed answer grows: repaint its text in place (the typing cursor keeps blinking).
    if (message.status === "streaming" && seen.message.status === "streaming") {
      renderMarkdown(seen.body, message.content);
      seen.message = message;
      return seen.article;
    }
  }
  const { article, body } = renderMessage(message, canRegenerate);
  rendered.set(message.id, { message, canRegenerate, article, body });
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
  if (message.status === "streaming") {
    body.classList.add("streaming");
    if (!message.content) body.append(h("span", { class: "typing", "aria-label": t("loading") }));
  }

  const article = h(
    "article",
    {
      class: `message ${isAi ? "ai" : "user"}${message.status ? ` ${message.status}` : ""}`,
      "data-id": message.id,
      "aria-label": isAi ? t("assistant") : t("you"),
    },
    isAi ? h("div", { class: "avatar ai-avatar", "aria-hidden": "true" }, "✦") : null,
    h("div", { class: "message-body" }, body, messageFooter(message, canRegenerate)),
  );
  return { article, body };
}

function messageFooter(message, canRegenerate) {
  if (message.role !== "ai" || message.status === "streaming") return null;
  if (message.status === "stopped") {
    return h(
      "div",
      { class: "message-note" },
      h("span", {}, t("stopped")),
      h(
        "button",
        { type: "button", class: "link-button", onclick: () => retryStopped(message.id) },
        t("retry"),
      ),
    );
  }
  const copy = h(
    "button",
    {
      type: "button",
      class: "icon-button small",
      "aria-label": t("copyAnswer"),
      title: t("copyAnswer"),
      onclick: async () => {
        await copyText(message.content);
        toast(t("copied"));
      },
    },
    icon("copy"),
  );
  const regenerate = canRegenerate
    ? h(
        "button",
        {
          type: "button",
          class: "icon-button small regenerate-button",
          "aria-label": t("regenerate"),
          title: t("regenerate"),
          onclick: () => runTurn({ regenerate: true }),
        },
        icon("refresh"),
      )
    : null;
  return h("div", { class: "message-actions" }, copy, regenerate);
}

function renderHeader() {
  const conversation = activeConversation();
  $("chat-title").textContent = state.activeId ? displayTitle(conversation) : t("newChat");
  document.title = state.activeId ? `${displayTitle(conversation)} · ${t("appName")}` : t("appName");
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

// -- turns --------------------------------------------------------------------------------

function autosize() {
  const input = $("composer-input");
  // CSSOM writes are allowed under the CSP (only style attributes in markup are blocked).
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, MAX_COMPOSER_PX)}px`;
}

function send() {
  const input = $("composer-input");
  const text = input.value.trim();
  if (!text || state.streaming) return;
  runTurn({ text });
}

/**
 * Ask for an answer: a new message (`text`) or a fresh answer to the last one (`regenerate`).
 * See the comment at the top of this file for what each outcome leaves on screen.
 */
async function runTurn({ text = null, regenerate = false }) {
  if (state.streaming) return;
  hideError();
  const input = $("composer-input");
  let conversationId = state.activeId;
  if (!conversationId) {
    conversationId = await newChat();
    if (!conversationId) return;
  }

  const before = state.messages.filter((m) => m.status !== "streaming");
  const answer = { id: localId(), role: "ai", content: "", status: "streaming" };
  let question = null;
  let shown;
  if (regenerate) {
    shown = [...before.slice(0, -1), answer];
  } else {
    question = { id: localId(), role: "user", content: text };
    shown = [...before, question, answer];
    input.value = "";
    autosize();
  }
  stickToBottom = true;
  controller = new AbortController();
  set({ streaming: true, messages: shown });

  let content = "";
  /** `shown` with the answer (and question) replaced by what they have become. */
  const outcome = (answerFields, questionFields = {}) =>
    shown.map((m) => {
      if (m === answer) return { ...answer, content, ...answerFields };
      if (m === question) return { ...question, ...questionFields };
      return m;
    });

  const payload = regenerate ? { conversationId, regenerate: true } : { conversationId, message: text };
  try {
    const done = await api.streamChat(payload, {
      signal: controller.signal,
      onToken: (piece) => {
        content += piece;
        queuePaint(answer.id, () => content);
      },
    });
    const now = new Date().toISOString();
    const fields = { updated_at: now };
    if (done.title) fields.title = done.title;
    updateConversation(conversationId, fields, { toTop: true });
    finish(
      conversationId,
      outcome(
        { id: done.ai_message_id ?? answer.id, status: undefined, created_at: now },
        { id: done.user_message_id ?? question?.id, created_at: now },
      ),
    );
  } catch (err) {
    if (err.name === "AbortError") {
      // The server keeps the old answer when a regeneration does not finish; a stopped new
      // message stays on screen, marked as never saved.
      if (regenerate) finish(conversationId, before);
      else finish(conversationId, outcome({ status: "stopped" }, { status: "unsaved" }));
      return;
    }
    finish(conversationId, before);
    if (!regenerate && !input.value.trim()) {
      // Never lose what the user wrote: it goes back where they typed it.
      input.value = text;
      autosize();
    }
    showError(describeChat(err), regenerate ? () => runTurn({ regenerate: true }) : send);
    if (err.status === 404) location.hash = "#/";
  }
}

/** Write the streamed text into the state at most once per frame (tokens come faster). */
function queuePaint(id, read) {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    updateMessage(id, { content: read() });
  });
}

function finish(conversationId, messages) {
  controller = null;
  cancelAnimationFrame(frame);
  frame = 0;
  // The user may have opened another conversation meanwhile; don't paint over it.
  if (state.activeId === conversationId) set({ streaming: false, messages });
  else set({ streaming: false });
}

/** Retry of a stopped answer: take it and its unsaved question out, then ask again. */
function retryStopped(answerId) {
  const at = state.messages.findIndex((m) => m.id === answerId);
  const question = state.messages[at - 1];
  if (at < 1 || question.role !== "user") return;
  set({ messages: state.messages.filter((_, i) => i !== at && i !== at - 1) });
  runTurn({ text: question.content });
}

function stop() {
  controller?.abort();
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
  input.addEventListener("input", autosize);
  $("stop-button").addEventListener("click", () => {
    stop();
    input.focus();
  });
  $("chat-retry").addEventListener("click", () => retryAction?.());
  $("messages").addEventListener("scroll", onScroll, { passive: true });
  $("jump-latest").addEventListener("click", () => {
    stickToBottom = true;
    scrollToBottom();
    $("jump-latest").hidden = true;
  });
  // Escape stops a running answer from anywhere (dialogs handle their own Escape first).
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && state.streaming && !document.querySelector("dialog[open]")) stop();
  });

  // Another conversation (or none) is opened: a running answer stops, as leaving means.
  subscribe(["activeId"], () => {
    stop();
    hideError();
    stickToBottom = true;
  });
  // Logged out: nothing of the last user's chat stays on screen.
  subscribe(["user"], () => {
    if (state.user) return;
    stop();
    hideError();
    input.value = "";
    autosize();
  });
  subscribe(["messages", "streaming"], renderMessages);
  // After renderMessages (subscribed first), so the message's node is on screen.
  subscribe(["messages", "focusMessageId"], focusFoundMessage);
  subscribe(["streaming"], renderComposer);
  subscribe(["activeId", "conversations"], renderHeader);
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
