// The app's event bus, for news that isn't state: something happened, whoever cares reacts.
// Views never import each other; they change the state (state.js) or emit one of these.
//
//   languagechange          i18n.js, after setLang(): re-render the strings built in JS
//   login {session, registered}   the auth view, after a log-in or sign-up: main.js enters the app
//   logout {notice}          the account view (log out, account deleted): main.js leaves the app
//   sessionlost             api.js, when a refresh fails: main.js leaves with "session ended"
//   totp                    the account menu or the administration's banner: views/totp.js opens its dialog

const bus = new EventTarget();

/** Announce `type` with an optional `detail` to every listener. */
export function emit(type, detail = null) {
  bus.dispatchEvent(new CustomEvent(type, { detail }));
}

/** Call `fn(detail)` on every `type` event. */
export function on(type, fn) {
  bus.addEventListener(type, (event) => fn(event.detail));
}
