import { test } from "node:test";
import assert from "node:assert/strict";

import {
  state,
  set,
  subscribe,
  activeConversation,
  updateConversation,
  updateMessage,
} from "../../frontend/js/state.js";

test("set() notifies each listener once per call, only for keys that changed", () => {
  const calls = [];
  subscribe(["query", "activeId"], () => calls.push("both"));
  subscribe(["streaming"], () => calls.push("streaming"));
  set({ query: "a", activeId: "x" });
  assert.deepEqual(calls, ["both"]);
  set({ query: "a" }); // unchanged value: nobody hears about it
  assert.deepEqual(calls, ["both"]);
  set({ streaming: true });
  assert.deepEqual(calls, ["both", "streaming"]);
  set({ query: "", activeId: null, streaming: false });
});

test("set() refuses a key the state doesn't have", () => {
  assert.throws(() => set({ mesages: [] }), /unknown state key mesages/);
});

test("updateConversation() replaces the item and the list, and can move it first", () => {
  const a = { id: "a", title: "A" };
  const b = { id: "b", title: "B" };
  set({ conversations: [a, b], activeId: "b" });
  const before = state.conversations;
  updateConversation("b", { title: "B2" }, { toTop: true });
  assert.notEqual(state.conversations, before);
  assert.deepEqual(state.conversations, [{ id: "b", title: "B2" }, a]);
  assert.equal(b.title, "B", "the old object is left as it was");
  assert.deepEqual(activeConversation(), { id: "b", title: "B2" });
  set({ activeId: "gone" });
  assert.equal(activeConversation(), null);
});

test("updateMessage() gives the changed message a new object and keeps the others", () => {
  const q = { id: 1, role: "user", content: "hi" };
  const a = { id: "local-1", role: "ai", content: "", status: "streaming" };
  set({ messages: [q, a] });
  updateMessage("local-1", { content: "Hel" });
  assert.equal(state.messages[0], q);
  assert.notEqual(state.messages[1], a);
  assert.deepEqual(state.messages[1], { ...a, content: "Hel" });
  const list = state.messages;
  updateMessage("nope", { content: "x" });
  assert.equal(state.messages, list, "an unknown id changes nothing");
});
