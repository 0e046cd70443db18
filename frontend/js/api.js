// The only module that talks to the server. It keeps the access token in memory (never in
// storage, so an XSS-free page is the only thing that can read it); the refresh token is an
// httpOnly cookie the browser sends to /auth/refresh on its own. A 401 triggers one refresh
// and one retry of the original request — streams included — and only a failed refresh
// reports the session as over (the "sessionlost" event).

import { emit } from "./events.js";

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, or 0 when the network failed
   * @param {unknown} detail the API's `detail` (string, or a list of {loc, msg} for 422)
   * @param {number|null} retryAfter seconds from the Retry-After header
   */
  constructor(status, detail, retryAfter = null) {
    super(typeof detail === "string" ? detail : `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }
}

// The refresh cookie is httpOnly, so the page can't see whether one exists. This flag (not a
// secret) remembers that this browser logged in, so a first visit doesn't make a refresh call
// that can only fail and show a 401 in the console.
const SESSION_HINT = "signedIn";

let accessToken = null;
let refreshing = null;

function retryAfterOf(response) {
  const value = response.headers.get("Retry-After");
  if (!value) return null;
  const seconds = Number.parseInt(value, 10);
  if (Number.isFinite(seconds)) return seconds;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, Math.ceil((date - Date.now()) / 1000)) : null;
}

async function errorFrom(response) {
  let detail = response.statusText;
  try {
    const body = await response.json();
    if (body && "detail" in body) detail = body.detail;
  } catch {
    // Not JSON (a proxy's error page, say): the status text is all we have.
  }
  return new ApiError(response.status, detail, retryAfterOf(response));
}

async function send(method, path, { body, signal, auth = true } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && accessToken) headers.Authorization = `Bearer ${accessToken}`;
  try {
    return await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      credentials: "same-origin",
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "network");
  }
}

/** POST /auth/refresh once, shared by every caller that hit a 401 at the same time. */
function refresh() {
  refreshing ??= (async () => {
    try {
      const response = await send("POST", "/auth/refresh", { auth: false });
      if (!response.ok) {
        accessToken = null;
        localStorage.removeItem(SESSION_HINT);
        return null;
      }
      const session = await response.json();
      accessToken = session.access_token;
      return session;
    } catch {
      return null;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** Sends with the bearer token; on 401 refreshes once and retries once. */
async function authed(method, path, options = {}) {
  let response = await send(method, path, options);
  if (response.status === 401) {
    const session = await refresh();
    if (!session) {
      emit("sessionlost");
      throw await errorFrom(response);
    }
    // A 401 even with a token that was just issued is about the request itself (a wrong
    // current password on POST /me/password or DELETE /me), not about the session.
    response = await send(method, path, options);
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

async function json(method, path, body) {
  const response = await authed(method, path, { body });
  return response.status === 204 ? null : response.json();
}

async function publicJson(method, path, body) {
  const response = await send(method, path, { body, auth: false });
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}

// -- accounts -----------------------------------------------------------------------------

/** On page load: the refresh cookie, if any, becomes a session. Returns it or null. */
export async function restoreSession() {
  if (!localStorage.getItem(SESSION_HINT)) return null;
  const session = await refresh();
  if (!session) localStorage.removeItem(SESSION_HINT);
  return session;
}

/**
 * POST /login. `totp` is the second step's code (or a recovery code) when the first answer was
 * a 401 with X-TOTP-Required: that ApiError carries `totpRequired: true`.
 */
export async function login(username, password, totp = "") {
  const body = { username, password };
  if (totp) body.totp = totp;
  const response = await send("POST", "/login", { body, auth: false });
  if (!response.ok) {
    const err = await errorFrom(response);
    err.totpRequired = response.headers.get("X-TOTP-Required") === "1";
    throw err;
  }
  const session = await response.json();
  accessToken = session.access_token;
  localStorage.setItem(SESSION_HINT, "1");
  return session;
}

export function register(fields) {
  return publicJson("POST", "/register", fields);
}

export async function logout() {
  try {
    await send("POST", "/logout");
  } finally {
    accessToken = null;
    localStorage.removeItem(SESSION_HINT);
  }
}

export const me = () => json("GET", "/me");

export async function changePassword(fields) {
  const session = await json("POST", "/me/password", fields);
  accessToken = session.access_token;
  return session;
}

export async function deleteAccount(password) {
  await json("DELETE", "/me", { password });
  accessToken = null;
  localStorage.removeItem(SESSION_HINT);
}

export const exportData = () => json("GET", "/me/export");

export const getConfig = () => publicJson("GET", "/config");

// -- operator's controls: password reset, two-factor sign-in, usage, the admin API -------------

/** POST /password-reset with a one-time link's token (204; no session is made). */
export async function resetPassword(token, newPassword) {
  const response = await send("POST", "/password-reset", {
    body: { token, new_password: newPassword },
    auth: false,
  });
  if (!response.ok) throw await errorFrom(response);
}

export const totpSetup = (password) => json("POST", "/me/totp/setup", { password });
export const totpEnable = (code) => json("POST", "/me/totp/enable", { code });
export const totpDisable = (password, code) => json("POST", "/me/totp/disable", { password, code });
export const myUsage = () => json("GET", "/me/usage");

function query(params) {
  const clean = Object.entries(params).filter(([, v]) => v !== "" && v !== null && v !== undefined);
  return new URLSearchParams(clean.map(([k, v]) => [k, String(v)])).toString();
}

const userPath = (id) => `/admin/users/${encodeURIComponent(id)}`;

export const admin = {
  users: ({ q = "", limit = 50, offset = 0 } = {}) =>
    json("GET", `/admin/users?${query({ q, limit, offset })}`),
  updateUser: (id, fields) => json("PATCH", userPath(id), fields),
  deleteUser: (id) => json("DELETE", userPath(id)),
  resetLink: (id) => json("POST", `${userPath(id)}/password-reset`),
  setQuota: (id, monthlyTokens) => json("PUT", `${userPath(id)}/quota`, { monthly_tokens: monthlyTokens }),
  invites: () => json("GET", `/admin/invites?${query({ limit: 100, offset: 0 })}`),
  createInvite: (fields) => json("POST", "/admin/invites", fields),
  revokeInvite: (id) => json("DELETE", `/admin/invites/${encodeURIComponent(id)}`),
  audit: ({ event = "", username = "", beforeId = null, limit = 50 } = {}) =>
    json("GET", `/admin/audit?${query({ event, username, before_id: beforeId, limit })}`),
  settings: () => json("GET", "/admin/settings"),
  saveSettings: (fields) => json("PATCH", "/admin/settings", fields),
  usage: (days = 30) => json("GET", `/admin/usage?${query({ days })}`),
};

// -- conversations ------------------------------------------------------------------------

export const createConversation = () => json("POST", "/session");

export function listConversations(q = "") {
  const params = new URLSearchParams({ limit: "100", offset: "0" });
  if (q) params.set("q", q);
  return json("GET", `/conversations?${params}`);
}

export const renameConversation = (id, title) =>
  json("PATCH", `/conversations/${encodeURIComponent(id)}`, { title });

export const deleteConversation = (id) => json("DELETE", `/conversations/${encodeURIComponent(id)}`);

/** Messages of mine that contain the words of `q`, best first (GET /search). */
export function searchMessages(q, { limit = 20, offset = 0 } = {}) {
  const params = new URLSearchParams({ q, limit: String(limit), offset: String(offset) });
  return json("GET", `/search?${params}`);
}

/** Every message of a conversation, oldest first (pages back with `before` as needed). */
export async function listMessages(id) {
  const all = [];
  let before = null;
  for (;;) {
    const params = new URLSearchParams({ limit: "100" });
    if (before) params.set("before", before);
    const page = await json("GET", `/conversations/${encodeURIComponent(id)}/messages?${params}`);
    all.unshift(...page.items);
    if (!page.has_more || page.items.length === 0) return all;
    before = page.items[0].id;
  }
}

/** GET /conversations/{id}/memory: the running summary (or null) and the verbatim window. */
export const getMemory = (id) => json("GET", `/conversations/${encodeURIComponent(id)}/memory`);

/**
 * PUT /conversations/{id}/leaf: view the branch through `messageId` (another version).
 * Returns the new branch's messages, oldest first (all of them, paging when it is long).
 */
export async function switchVersion(id, messageId) {
  const page = await json("PUT", `/conversations/${encodeURIComponent(id)}/leaf?limit=500`, {
    message_id: messageId,
  });
  return page.has_more ? listMessages(id) : page.items;
}

/** POST …/messages/{mid}/stop: the answer is kept as "stopped"; resolves with the message. */
export const stopAnswer = (id, messageId) =>
  json("POST", `/conversations/${encodeURIComponent(id)}/messages/${messageId}/stop`);

// -- event streams ------------------------------------------------------------------------

/**
 * Read a text/event-stream response, calling `handle(event, data)` per event (data parsed
 * from JSON). Resolves when the stream ends; a connection cut midway is ApiError(0, "connection
 * lost"), a stop of ours stays an AbortError.
 */
async function readEvents(response, handle) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = "message";
  let data = [];

  const dispatch = () => {
    if (data.length === 0) return;
    const parsed = JSON.parse(data.join("\n"));
    const name = event;
    event = "message";
    data = [];
    handle(name, parsed);
  };

  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new ApiError(0, "connection lost");
    }
    if (chunk.done) break;
    buffer += chunk.value;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop(); // the last piece may be an incomplete line
    for (const line of lines) {
      if (line === "") dispatch();
      else if (line.startsWith(":")) continue; // keep-alive comment (": ping")
      else if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
  }
  dispatch();
}

/**
 * POST /chat/stream and feed its events: `onStart({user_message_id, ai_message_id})` once the
 * rows exist, `onToken(text)` per piece. Resolves with the `done` event's data; rejects with
 * ApiError for an error response or an `error` event (`afterStart` says whether the rows
 * existed by then), ApiError(0, "connection lost") when the stream is cut before `done`, and
 * AbortError when we close it. fetch + ReadableStream rather than EventSource: this is a POST
 * with a bearer header.
 */
export async function streamChat(payload, { onStart = () => {}, onToken, signal }) {
  const response = await authed("POST", "/chat/stream", { body: payload, signal });
  let done = null;
  let started = false;
  await readEvents(response, (event, data) => {
    if (event === "start") {
      started = true;
      onStart(data);
    } else if (event === "token") onToken(data.text ?? "");
    else if (event === "done") done = data;
    else if (event === "error") {
      const err = new ApiError(data.status ?? 502, data.detail ?? "");
      err.afterStart = started;
      throw err;
    }
  });
  if (!done) throw new ApiError(0, "connection lost");
  return done;
}

/**
 * Follow an answer being written (GET …/messages/{mid}/stream), from this tab or another,
 * on any worker: `onToken` gets the text so far first, then each addition. Resolves with the
 * message as stored once it is no longer being written (its `state` says how it ended).
 */
export async function followAnswer(id, messageId, { onToken, signal }) {
  const path = `/conversations/${encodeURIComponent(id)}/messages/${messageId}/stream`;
  const response = await authed("GET", path, { signal });
  let done = null;
  await readEvents(response, (event, data) => {
    if (event === "token") onToken(data.text ?? "");
    else if (event === "done") done = data;
    else if (event === "error") throw new ApiError(data.status ?? 502, data.detail ?? "");
  });
  if (!done) throw new ApiError(0, "connection lost");
  return done;
}
