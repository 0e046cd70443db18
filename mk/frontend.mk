# Browser UI: vendored libraries, the JavaScript linter and unit tests, the real-browser tests
# (see docs/ui.md). ESLint and jsdom are pinned dev tools in package.json / package-lock.json;
# the UI itself needs no npm at run time.
.PHONY: vendor node-deps lint-js test-js test-e2e

NPM ?= npm
NODE ?= node

# npm ci writes node_modules/.package-lock.json; reinstall when the lock file changes.
node_modules/.package-lock.json: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund --prefer-offline

node-deps: node_modules/.package-lock.json ## Install the pinned JS dev tools (npm ci) into node_modules

vendor: ## Re-fetch the vendored JS libraries (frontend/vendor/VERSIONS) from the npm registry
	frontend/vendor/fetch.sh

lint-js: node-deps ## ESLint over frontend/js and tests/frontend (eslint.config.js)
	node_modules/.bin/eslint --max-warnings=0 .

test-js: node-deps ## Unit tests of the pure UI modules with Node's test runner (tests/frontend)
	$(NODE) --test tests/frontend/*.test.mjs

test-e2e: dev-venv ## Browser tests: the real app + fake Gemini driven by Debian's Chromium
	$(PY) -m pytest -W default tests/e2e $(PYTEST_ARGS)
