// "What the assistant remembers": a dialog, opened from the chat header, that shows what the
// next turn of the open conversation sends the model besides the new message
// (GET /conversations/{id}/memory): the running summary of the older messages, as text (it is
// the model's writing: never HTML), how many messages it covers, and the window of the latest
// messages sent word for word. Before a conversation outgrows its window there is no summary.

import * as api from "../api.js";
import { state, subscribe } from "../state.js";
import { on } from "../events.js";
import { t } from "../i18n.js";
import { $, h } from "../dom.js";
import { describe } from "../errors.js";

let seq = 0; // the latest request: a slower, older answer must not replace a newer one
let shownFor = null; // the conversation id the dialog was opened for

const number = (n) => n.toLocaleString();

function windowLine(window) {
  return window.messages
    ? t("memoryWindow", { messages: number(window.messages), tokens: number(window.tokens) })
    : null;
}

function render(memory) {
  const body = $("memory-body");
  if (!memory.summary) {
    body.replaceChildren(
      h("p", { class: "memory-empty" }, t("memoryNothing")),
      windowLine(memory.window) && h("p", { class: "memory-window" }, windowLine(memory.window)),
    );
    return;
  }
  const { summary, window } = memory;
  body.replaceChildren(
    h("p", { class: "memory-covers" }, t("memoryCovers", { messages: number(summary.covered_messages) })),
    // textContent: the summary is the model's words, shown as written.
    h("div", { class: "memory-summary", tabindex: "0", "aria-label": t("memorySummary") }, summary.content),
    windowLine(window) && h("p", { class: "memory-window" }, windowLine(window)),
  );
}

async function load() {
  const mine = ++seq;
  const id = shownFor;
  $("memory-body").replaceChildren(h("p", { class: "memory-loading", role: "status" }, t("loading")));
  try {
    const memory = await api.getMemory(id);
    if (mine === seq) render(memory);
  } catch (err) {
    if (mine !== seq) return;
    $("memory-body").replaceChildren(
      h("p", { class: "form-error", role: "alert" }, describe(err)),
      h("button", { type: "button", class: "secondary-button", onclick: load }, t("retry")),
    );
  }
}

function open() {
  if (!state.activeId) return;
  shownFor = state.activeId;
  $("memory-dialog").showModal();
  load();
}

export function initMemory() {
  const dialog = $("memory-dialog");
  $("memory-button").addEventListener("click", open);
  $("memory-close").addEventListener("click", () => dialog.close());
  // The dialog is about one conversation: it closes when another opens, or on logout.
  subscribe(["activeId", "user"], () => {
    if (dialog.open && state.activeId !== shownFor) dialog.close();
  });
  dialog.addEventListener("close", () => {
    seq++;
    $("memory-button").focus();
  });
  on("languagechange", () => {
    if (dialog.open) load();
  });
}
