// Dark and light themes. With no choice stored, CSS follows prefers-color-scheme on its own
// (no flash before this module runs); a choice sets <html data-theme> and retargets the two
// highlight.js stylesheets' media queries so code blocks match.

import { $ } from "./dom.js";

const STORAGE_KEY = "theme";
const systemDark = window.matchMedia("(prefers-color-scheme: dark)");

function stored() {
  const value = localStorage.getItem(STORAGE_KEY);
  return value === "dark" || value === "light" ? value : null;
}

function currentTheme() {
  return stored() ?? (systemDark.matches ? "dark" : "light");
}

function apply() {
  const choice = stored();
  const root = document.documentElement;
  if (choice) root.dataset.theme = choice;
  else delete root.dataset.theme;
  const light = $("hljs-light");
  const dark = $("hljs-dark");
  if (choice) {
    light.media = choice === "light" ? "all" : "not all";
    dark.media = choice === "dark" ? "all" : "not all";
  } else {
    light.media = "(prefers-color-scheme: light)";
    dark.media = "(prefers-color-scheme: dark)";
  }
  const button = $("theme-toggle");
  button.setAttribute("aria-pressed", String(currentTheme() === "dark"));
}

function toggleTheme() {
  localStorage.setItem(STORAGE_KEY, currentTheme() === "dark" ? "light" : "dark");
  apply();
}

export function initTheme() {
  apply();
  systemDark.addEventListener("change", apply);
  $("theme-toggle").addEventListener("click", toggleTheme);
}
