// Entry point and the only module that imports the views: it starts them, restores the session
// from the refresh cookie, enters or leaves the app on the login / logout / sessionlost events
// and routes the hash (routes.js): #/c/<id> to the open conversation (so a reload comes back to
// the same chat), #/admin/<section> to the administration (admins only), #/invite/ and #/reset/
// links to their forms on the auth screen.

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
import { parseRoute } from "./routes.js";
import { meFields } from "./admin/format.js";
import { initAdminView, showAdmin, hideAdmin } from "./views/admin.js";
import { initTotp } from "./views/totp.js";
import { showInvite, showReset } from "./views/auth.js";

/**
 * Show what the hash names: a conversation, the empty chat, or the administration (admins
 * only: anyone else is sent to the chat, and the server refuses its calls anyway). The links
 * made for people without a session (#/invite/, #/reset/) mean nothing once signed in.
 */
async function showRoute() {
  const route = parseRoute(location.hash);
  if (route.view === "admin") {
    if (state.user?.role === "admin") {
      showAdmin(route.section);
      return;
    }
    history.replaceState(null, "", "#/");
  } else if (route.view !== "chat") {
    history.replaceState(null, "", "#/");
  }
  hideAdmin();
  await openConversation(route.view === "chat" ? route.id : null);
}

/** The role and two-factor state GET /me adds to the session's user. */
async function loadMe() {
  try {
    const me = await api.me();
    if (state.user) set({ user: { ...state.user, ...meFields(me) } });
  } catch {
    // Without it the user is treated as no admin; the chat works all the same.
  }
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
  await Promise.all([loadMe(), loadConversations().catch((err) => toast(describe(err)))]);
  // Not awaited: the page shows (body.ready) with the chat's loading state while its
  // messages come, instead of staying blank until they have. Which view shows is decided
  // before showRoute's first await.
  showRoute();
  if ($("admin").hidden) $("composer-input").focus();
}

/** Back to the login screen; the views clear what the last user had on screen (state.user). */
function leaveApp(notice = "", { keepHash = false } = {}) {
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
  if (location.hash && !keepHash) history.replaceState(null, "", location.pathname);
  placePrefs("auth-prefs-slot");
  showAuthView(notice);
}

/** #/invite/<token> or #/reset/<token>, opened without a session: their forms. */
function showLinkRoute(route) {
  leaveApp("", { keepHash: true });
  if (route.view === "invite") showInvite(route.token);
  else showReset(route.token);
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
  initAdminView();
  initTotp();
  on("login", ({ session, registered }) => enterApp(session, { registered }));
  on("logout", ({ notice }) => leaveApp(notice));
  on("sessionlost", () => {
    if (state.user) leaveApp(t("sessionExpired"));
  });
  window.addEventListener("hashchange", () => {
    const route = parseRoute(location.hash);
    if (state.user) showRoute();
    else if (route.view === "invite" || route.view === "reset") showLinkRoute(route);
  });
  // The sign-up policy may change while the page is open (an admin, or a refusal seen).
  on("logout", () => api.getConfig().then((config) => set({ config }), () => {}));

  // The banner is public information; fetch it alongside the session check. A page opened
  // with an invite or a reset link shows that link's form, whoever is signed in here.
  const initial = parseRoute(location.hash);
  const link = initial.view === "invite" || initial.view === "reset";
  const [config, session] = await Promise.all([
    api.getConfig().catch(() => null),
    link ? null : api.restoreSession(),
  ]);
  set({ config });
  renderDemoBanner();
  if (session) await enterApp(session);
  else if (!link) leaveApp();
  document.body.classList.add("ready");
  // After "ready" (in the same task, so nothing paints between): a link's field, else the
  // login or the composer, can take the focus; an element hidden until now can't before.
  if (!session && link) showLinkRoute(initial);
  else if (!document.activeElement || document.activeElement === document.body) {
    if (!state.user) $("login-username").focus();
    else if ($("admin").hidden) $("composer-input").focus();
  }
}

start();
