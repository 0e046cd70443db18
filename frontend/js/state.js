// The UI's state in one place: plain data (what the server said, what the user chose), never
// DOM nodes or callbacks. Views read it and subscribe to the keys they draw; everything that
// changes it goes through set(), and every change replaces a value (never mutates it), so a
// listener can tell what changed by comparing objects.

const listeners = new Map();

export const state = {
  user: null, // {user_id, username}
  config: null, // GET /config
  // [{id, title, title_is_custom?, created_at, updated_at}] newest activity first
  conversations: [],
  query: "", // the sidebar search text
  activeId: null, // the open conversation's id
  // The branch being viewed, oldest first: the server's messages ({id, role: "user"|"ai",
  // content, created_at, state: "done"|"streaming"|"stopped"|"error"|"interrupted", version,
  // versions, sibling_ids}) and, while a turn is sent, local ones ({local: true}, a string id).
  messages: [],
  // "loading" while the open conversation's messages are fetched, "failed" when that failed
  // (messagesError says why, in words), "ready" otherwise.
  messagesStatus: "ready",
  messagesError: "",
  // An answer is being written and this tab shows it (its own turn, or one it follows).
  streaming: false,
  // A message id to scroll to and flash once it is on screen (a search result was opened).
  focusMessageId: null,
};

/** Merge `patch` into the state and notify the listeners of every changed key. */
export function set(patch) {
  const changed = [];
  for (const [key, value] of Object.entries(patch)) {
    if (!(key in state)) throw new Error(`unknown state key ${key}`);
    if (state[key] !== value) {
      state[key] = value;
      changed.push(key);
    }
  }
  const notified = new Set();
  for (const key of changed) {
    for (const fn of listeners.get(key) ?? []) {
      if (!notified.has(fn)) {
        notified.add(fn);
        fn(state);
      }
    }
  }
}

/** Call `fn(state)` whenever one of `keys` changes (once per set(), however many changed). */
export function subscribe(keys, fn) {
  for (const key of keys) {
    if (!listeners.has(key)) listeners.set(key, new Set());
    listeners.get(key).add(fn);
  }
}

export function activeConversation() {
  return state.conversations.find((c) => c.id === state.activeId) ?? null;
}

/** Replace one conversation's fields in the list; `toTop` moves it first (newest activity). */
export function updateConversation(id, fields, { toTop = false } = {}) {
  let list = state.conversations.map((c) => (c.id === id ? { ...c, ...fields } : c));
  if (toTop) {
    const item = list.find((c) => c.id === id);
    if (item) list = [item, ...list.filter((c) => c.id !== id)];
  }
  set({ conversations: list });
}

/** Replace one message's fields (a streamed answer growing, say); no-op for an unknown id. */
export function updateMessage(id, fields) {
  if (!state.messages.some((m) => m.id === id)) return;
  set({ messages: state.messages.map((m) => (m.id === id ? { ...m, ...fields } : m)) });
}
