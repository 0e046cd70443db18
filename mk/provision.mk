# AWS provisioning: `make deploy` from a laptop to a public chat URL (see docs/deploy.md).
# Pass CLI options through DEPLOY_ARGS, e.g. make deploy DEPLOY_ARGS="--region eu-west-1 --name demo".
VENV ?= .venv
DEPLOY_ARGS ?=
DEPLOY_PY := $(VENV)/bin/python
DEPLOY_CLI := $(DEPLOY_PY) -m scripts.aws

.PHONY: deploy destroy deploy-status deploy-ssh deploy-deps test-provision

# boto3 and ansible-core at the pinned versions, plus the collections the playbook lists
# (ansible/requirements.yml, when the playbook has one).
$(VENV)/.deploy: requirements-deploy.txt
	test -x $(DEPLOY_PY) || python3 -m venv $(VENV)
	$(DEPLOY_PY) -m pip install -q --disable-pip-version-check -r requirements-deploy.txt
	if [ -f ansible/requirements.yml ]; then \
	  $(VENV)/bin/ansible-galaxy collection install -r ansible/requirements.yml; fi
	touch $@

deploy-deps: $(VENV)/.deploy ## Install the pinned provisioning tools (boto3, ansible-core) into .venv

deploy: $(VENV)/.deploy ## Create/update the AWS host(s) and deploy (DEPLOY_ARGS="--region ..." or "--hosts 3 --database rds")
	$(DEPLOY_CLI) up $(DEPLOY_ARGS)

destroy: $(VENV)/.deploy ## Remove every AWS resource of the deployment (asks first; DEPLOY_ARGS=--yes)
	$(DEPLOY_CLI) down $(DEPLOY_ARGS)

deploy-status: $(VENV)/.deploy ## Show the deployment's AWS resources, state, IP and URL
	$(DEPLOY_CLI) status $(DEPLOY_ARGS)

deploy-ssh: $(VENV)/.deploy ## Open an SSH shell on the deployed host
	$(DEPLOY_CLI) ssh $(DEPLOY_ARGS)

# moto comes from requirements-dev.txt (dev-venv).
test-provision: dev-venv $(VENV)/.deploy ## Provisioning CLI tests against moto's fake AWS (no network)
	$(DEPLOY_PY) -m pytest -W error::DeprecationWarning tests/provision $(PYTEST_ARGS)
