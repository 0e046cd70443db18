// Entry point: wires the views together, restores the session from the refresh cookie and
// routes #/c/<id> to the open conversation (so a reload comes back to the same chat).

import * as api from "./api.js";
import { state, set } from "./state.js";
import { t, translate, lang, setLang } from "./i18n.js";
import { initTheme } from "./theme.js";
import { initAuthView, showAuthView } from "./views/auth.js";
import { initSidebar, loadConversations, closeDrawer } from "./views/sidebar.js";
import { initChatView, openConversation, stop } from "./views/chat.js";
import { initAccountMenu, renderAccount } from "./views/account.js";
import { toast } from "./dom.js";
import { describe } from "./errors.js";

const $ = (id) => document.getElementById(id);

function routeId() {
  const match = /^#\/c\/([0-9a-fA-F-]{36})$/.exec(location.hash);
  return match ? match[1] : null;
}

function placePrefs(slotClass) {
  document.querySelector(`.${slotClass}`).append($("prefs"));
}

function renderDemoBanner() {
  const banner = $("demo-banner");
  const model = state.config?.model;
  banner.hidden = model?.mode !== "demo";
  if (!banner.hidden) banner.textContent = t("demoBanner");
}

async function enterApp(session, { registered = false } = {}) {
  set({ user: { user_id: session.user_id, username: session.username } });
  renderAccount();
  $("auth-view").hidden = true;
  $("app-view").hidden = false;
  placePrefs("header-prefs-slot");
  if (registered) toast(t("registered"));
  try {
    await loadConversations();
  } catch (err) {
    toast(describe(err));
  }
  await openConversation(routeId());
  $("composer-input").focus();
}

/** Back to the login screen, forgetting everything the last user had on screen. */
function leaveApp(notice = "") {
  stop();
  closeDrawer();
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  set({ user: null, conversations: [], query: "", activeId: null, messages: [] });
  $("search-input").value = "";
  $("composer-input").value = "";
  $("chat-error").hidden = true;
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
  document.addEventListener("languagechange", renderDemoBanner);

  initAuthView({ loggedIn: enterApp });
  initSidebar();
  initChatView();
  initAccountMenu({ loggedOut: leaveApp });
  api.setSessionLostHandler(() => {
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
}

start();
