// Drafts: what was typed in the message box and not sent, one per user and conversation (the
// new-chat screen has its own), kept in localStorage so a reload or a detour through another
// conversation loses nothing. A draft goes when its message is sent, and all of a user's go
// when they log out (the next person at this browser must not read them).

const PREFIX = "draft:";
const NEW_CHAT = "new";

const keyOf = (userId, conversationId) => `${PREFIX}${userId}:${conversationId ?? NEW_CHAT}`;

/** The draft of `conversationId` (null: the new-chat screen), or "". */
export function loadDraft(userId, conversationId, storage = localStorage) {
  try {
    return storage.getItem(keyOf(userId, conversationId)) ?? "";
  } catch {
    return ""; // storage disabled: drafts live only as long as the box's text
  }
}

/** Keep `text` as the draft (an empty or blank text removes it). */
export function saveDraft(userId, conversationId, text, storage = localStorage) {
  try {
    if (text.trim()) storage.setItem(keyOf(userId, conversationId), text);
    else storage.removeItem(keyOf(userId, conversationId));
  } catch {
    // Full or disabled storage: the draft stays in the box, which is the best we can do.
  }
}

export function removeDraft(userId, conversationId, storage = localStorage) {
  saveDraft(userId, conversationId, "", storage);
}

/** Remove every draft of `userId` (on logout). */
export function clearDrafts(userId, storage = localStorage) {
  const mine = `${PREFIX}${userId}:`;
  const keys = [];
  for (let i = 0; i < storage.length; i++) {
    const key = storage.key(i);
    if (key?.startsWith(mine)) keys.push(key);
  }
  for (const key of keys) storage.removeItem(key);
}
