// Entry point and the only module that imports the views: it starts them, restores the session
// from the refresh cookie, enters or leaves the app on the login / logout / sessionlost events
// and routes #/c/<id> to the open conversation (so a reload comes back to the same chat).

import * as api from "./api.js";
import { state, set } from "./state.js";
import { on } from "./events.js";
import { t, translate, lang, setLang } from "./i18n.js";
import { initTheme } from "./theme.js";
import { $, clearToast, toast } from "./dom.js";
import { describe } from "./errors.js";
import { loadConversations, openConversation } from "./conversations.js";
import { initAuthView, showAuthView } from "./views/auth.js";
import { initSidebar } from "./views/sidebar.js";
import { initSearch } from "./views/search.js";
import { initChatView } from "./views/chat.js";
import { initAccountMenu } from "./views/account.js";
import { initMemory } from "./views/memory.js";

function routeId() {
  const match = /^#\/c\/([0-9a-fA-F-]{36})$/.exec(location.hash);
  return match ? match[1] : null;
}

function placePrefs(slotClass) {
  document.querySelector(`.${slotClass}`).append($("prefs"));
}

function renderDemoBanner() {
  $("demo-banner").hidden = state.config?.model?.mode !== "demo";
}

async function enterApp(session, { registered = false } = {}) {
  clearToast();
  set({ user: { user_id: session.user_id, username: session.username } });
  $("auth-view").hidden = true;
  $("app-view").hidden = false;
  placePrefs("header-prefs-slot");
  if (registered) toast(t("registered"));
  try {
    await loadConversations();
  } catch (err) {
    toast(describe(err));
  }
  // Not awaited: the page shows (body.ready) with the chat's loading state while its
  // messages come, instead of staying blank until they have.
  openConversation(routeId());
  $("composer-input").focus();
}

/** Back to the login screen; the views clear what the last user had on screen (state.user). */
function leaveApp(notice = "") {
  clearToast();
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  set({
    user: null,
    conversations: [],
    query: "",
    activeId: null,
    messages: [],
    messagesStatus: "ready",
    focusMessageId: null,
  });
  if (location.hash) history.replaceState(null, "", location.pathname);
  placePrefs("auth-prefs-slot");
  showAuthView(notice);
}

async function start() {
  translate();
  initTheme();
  const langSelect = $("lang-select");
  langSelect.value = lang();
  langSelect.addEventListener("change", () => setLang(langSelect.value));

  initAuthView();
  initSidebar();
  initSearch();
  initChatView();
  initAccountMenu();
  initMemory();
  on("login", ({ session, registered }) => enterApp(session, { registered }));
  on("logout", ({ notice }) => leaveApp(notice));
  on("sessionlost", () => {
    if (state.user) leaveApp(t("sessionExpired"));
  });
  window.addEventListener("hashchange", () => {
    if (state.user) openConversation(routeId());
  });

  // The banner is public information; fetch it alongside the session check.
  const [config, session] = await Promise.all([
    api.getConfig().catch(() => null),
    api.restoreSession(),
  ]);
  set({ config });
  renderDemoBanner();
  if (session) await enterApp(session);
  else leaveApp();
  document.body.classList.add("ready");
  // Only now: an element hidden until the page is ready can't take the focus before.
  if (!document.activeElement || document.activeElement === document.body) {
    $(state.user ? "composer-input" : "login-username").focus();
  }
}

start();
