import { test } from "node:test";
import assert from "node:assert/strict";

import { clearDrafts, loadDraft, removeDraft, saveDraft } from "../../frontend/js/drafts.js";

/** The part of the Storage interface drafts.js uses, in memory. */
function memoryStorage() {
  const map = new Map();
  return {
    get length() {
      return map.size;
    },
    key: (i) => [...map.keys()][i] ?? null,
    getItem: (k) => (map.has(k) ? map.get(k) : null),
    setItem: (k, v) => map.set(k, String(v)),
    removeItem: (k) => map.delete(k),
  };
}

test("one draft per user and conversation, the new-chat screen its own", () => {
  const s = memoryStorage();
  saveDraft(1, "c1", "first", s);
  saveDraft(1, null, "new one", s);
  saveDraft(2, "c1", "someone else's", s);
  assert.equal(loadDraft(1, "c1", s), "first");
  assert.equal(loadDraft(1, null, s), "new one");
  assert.equal(loadDraft(2, "c1", s), "someone else's");
  assert.equal(loadDraft(1, "c2", s), "");
});

test("a blank draft is no draft; sending removes it; logging out removes only mine", () => {
  const s = memoryStorage();
  saveDraft(1, "c1", "text", s);
  saveDraft(1, "c1", "   ", s);
  assert.equal(s.length, 0);
  saveDraft(1, "c1", "a", s);
  saveDraft(1, "c2", "b", s);
  saveDraft(11, "c1", "not mine, though the id starts alike", s);
  removeDraft(1, "c2", s);
  assert.equal(loadDraft(1, "c2", s), "");
  clearDrafts(1, s);
  assert.equal(loadDraft(1, "c1", s), "");
  assert.equal(loadDraft(11, "c1", s), "not mine, though the id starts alike");
});
