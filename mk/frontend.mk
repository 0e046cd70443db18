# Browser UI: vendored libraries and the real-browser tests (see docs/ui.md).
.PHONY: vendor test-e2e

vendor: ## Re-fetch the vendored JS libraries (frontend/vendor/VERSIONS) from the npm registry
	frontend/vendor/fetch.sh

test-e2e: dev-venv ## Browser tests: the real app + fake Gemini driven by Debian's Chromium
	$(PY) -m pytest -W default tests/e2e $(PYTEST_ARGS)
