# Ansible (ansible/): lint the roles, deploy to a local Debian test host, run the deploy tests.
# ansible-core comes from requirements-deploy.txt ($(VENV)/.deploy, mk/provision.mk); the test
# host from mk/testhost.mk. See docs/operations.md.

ANSIBLE_LINT_VERSION ?= 26.10.1
# Extra ansible-playbook arguments for deploy-local. Without a Gemini key in a vault the local
# appliance runs the offline demo model; e.g. DEPLOY_LOCAL_ARGS="--ask-vault-pass" uses yours.
DEPLOY_LOCAL_ARGS ?= -e chatbot_model_provider=demo
DEPLOY_LOCAL_INVENTORY := test-artifacts/deploy-local/inventory.ini
ANSIBLE_PLAYBOOK := ANSIBLE_CONFIG=ansible/ansible.cfg $(VENV)/bin/ansible-playbook

.PHONY: ansible-lint deploy-local test-deploy test-multihost

$(VENV)/.ansible-lint: $(VENV)/.deploy
	$(PIP) install -q --disable-pip-version-check ansible-lint==$(ANSIBLE_LINT_VERSION)
	touch $@

ansible-lint: $(VENV)/.ansible-lint ## Lint ansible/ (and the tests' roles) with the production profile
	$(VENV)/bin/ansible-lint --profile production ansible/ tests/deploy/ansible/

test-deploy: dev-venv $(VENV)/.deploy testhost-deps ## Deploy tests on a booted Debian host
	$(PY) -m pytest -W default tests/deploy -m "not multihost" $(PYTEST_ARGS)

# HAProxy (Debian's package, installed by .ci/run) stands in for the AWS load balancer.
test-multihost: dev-venv $(VENV)/.deploy testhost-deps ## Two app hosts + PostgreSQL host behind HAProxy: rolling deploy, host loss
	$(PY) -m pytest -W default tests/deploy -m multihost $(PYTEST_ARGS)

deploy-local: $(VENV)/.deploy testhost-deps ## Deploy the committed HEAD to a local Debian test host
	$(TESTHOST) up
	mkdir -p $(dir $(DEPLOY_LOCAL_INVENTORY))
	$(TESTHOST) inventory $(DEPLOY_LOCAL_INVENTORY)
	$(ANSIBLE_PLAYBOOK) -i $(DEPLOY_LOCAL_INVENTORY) ansible/site.yml $(DEPLOY_LOCAL_ARGS)
	@$(TESTHOST) status | $(PYTHON) -c 'import json, sys; \
	  print("\nThe appliance is up: http://%s/  (make testhost-down stops it)" % json.load(sys.stdin)["address"])'
