// ESLint for the UI's JavaScript (frontend/js) and its unit tests (tests/frontend).
// `make lint-js` runs it; the pinned versions are in package.json / package-lock.json.
import js from "@eslint/js";
import globals from "globals";
import { defineConfig, globalIgnores } from "eslint/config";

export default defineConfig([
  // Third-party code at pinned versions, and trees that only hold other tools' JavaScript.
  globalIgnores(["frontend/vendor/", ".venv/", "test-artifacts/", "data/"]),
  js.configs.recommended,
  {
    files: ["frontend/js/**/*.js"],
    languageOptions: { sourceType: "module", globals: globals.browser },
  },
  {
    files: ["tests/frontend/**/*.mjs", "eslint.config.js"],
    languageOptions: { sourceType: "module", globals: globals.node },
  },
]);
