// Copy text to the clipboard. navigator.clipboard exists only in secure contexts (HTTPS or
// localhost); an appliance served over plain HTTP on a LAN falls back to a hidden textarea.

import { h } from "./dom.js";

export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Permission denied (e.g. a headless browser): try the old way below.
    }
  }
  const area = h("textarea", { readonly: true, class: "offscreen" });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}
