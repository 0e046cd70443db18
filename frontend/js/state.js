// The UI's state in one place. Views read it and subscribe to the keys they draw; only
// main.js and the views' event handlers change it, always through set().

const listeners = new Map();

export const state = {
  user: null, // {user_id, username}
  config: null, // GET /config
  conversations: [], // [{id, title, created_at, updated_at}] newest activity first
  query: "", // the sidebar search text
  activeId: null, // the open conversation's id
  messages: [], // [{id, role: "user"|"ai", content, status?: "streaming"|"stopped"}]
  streaming: false,
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

/** Call `fn(state)` whenever one of `keys` changes. */
export function subscribe(keys, fn) {
  for (const key of keys) {
    if (!listeners.has(key)) listeners.set(key, new Set());
    listeners.get(key).add(fn);
  }
}

export function activeConversation() {
  return state.conversations.find((c) => c.id === state.activeId) ?? null;
}

/** Replace one conversation's fields in the list (immutably, so listeners see a change). */
export function updateConversation(id, fields, { toTop = false } = {}) {
  let list = state.conversations.map((c) => (c.id === id ? { ...c, ...fields } : c));
  if (toTop) {
    const item = list.find((c) => c.id === id);
    if (item) list = [item, ...list.filter((c) => c.id !== id)];
  }
  set({ conversations: list });
}
