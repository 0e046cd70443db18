// Small DOM helpers shared by the views. Text always goes in through textContent.

/** The element with this id (every view's way to find its markup in index.html). */
export const $ = (id) => document.getElementById(id);

/** Build an element: h("button", {class: "x", type: "button", onclick: fn}, "label", child). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** A decorative icon drawn by CSS (css/base.css, .icon-<name>). */
export const icon = (name) => h("span", { class: `icon icon-${name}`, "aria-hidden": "true" });

/** Show `text` in an error element, or hide it when `text` is empty. */
export function showText(el, text) {
  el.textContent = text ?? "";
  el.hidden = !text;
}

let toastTimer = null;

/** A short status message at the bottom of the screen (role=status, read by screen readers). */
export function toast(text) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 3500);
}

/** Take the toast away now: the screen it spoke about is gone. */
export function clearToast() {
  clearTimeout(toastTimer);
  $("toast").hidden = true;
}

/** A modal yes/no question in the shared <dialog>; resolves true on confirm. */
export function confirmDialog({ title, text, confirm }) {
  const dialog = $("confirm-dialog");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = confirm;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

/**
 * The keyboard of an ARIA menu: arrow keys and Home/End move through `items`; Escape closes
 * it with `close(true)` (focus back to its opener) and is handled, so a drawer around the
 * menu (phone layout) stays open; Tab closes it with `close(false)`.
 */
export function menuKeydown(e, items, close) {
  const index = items.indexOf(document.activeElement);
  const moves = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: items.length - 1 };
  if (e.key in moves) {
    e.preventDefault();
    items[(moves[e.key] + items.length) % items.length].focus();
  } else if (e.key === "Escape") {
    e.preventDefault();
    close(true);
  } else if (e.key === "Tab") {
    close(false);
  }
}
