// The URL hash as a route (pure). #/c/<id>: a conversation; #/ or nothing: the empty chat;
// #/admin/<section>: the administration (admins only: main.js checks the role);
// #/invite/<token> and #/reset/<token>: the links an admin hands out (sign-up with an invite,
// set a new password), opened without a session.

export const ADMIN_SECTIONS = ["users", "invites", "usage", "audit", "settings"];

function token(raw) {
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

/** {view: "chat", id} | {view: "admin", section} | {view: "invite"|"reset", token}. */
export function parseRoute(hash) {
  let m = /^#\/c\/([0-9a-fA-F-]{36})$/.exec(hash);
  if (m) return { view: "chat", id: m[1] };
  m = /^#\/admin(?:\/([a-z]*))?\/?$/.exec(hash);
  if (m) return { view: "admin", section: ADMIN_SECTIONS.includes(m[1]) ? m[1] : "users" };
  m = /^#\/(invite|reset)\/([^/\s]+)$/.exec(hash);
  if (m && token(m[2])) return { view: m[1], token: token(m[2]) };
  return { view: "chat", id: null };
}

export const adminHash = (section) => `#/admin/${section}`;
