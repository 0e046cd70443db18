# A real systemd Debian 12 host on this machine (systemd-nspawn), for deploy tests and
# `make deploy-local`. The package scripts/testhost/ does the work; docs/testhost.md explains it.
# It is stdlib-only, so it runs on the system python3, not the venv.

# The first word of each line of host-packages.txt (also read by the package and .ci/run).
TESTHOST_PACKAGES := $(shell awk '{ sub(/\#.*/, "") } NF { print $$1 }' scripts/testhost/host-packages.txt)
TESTHOST := $(PYTHON) -m scripts.testhost $(TESTHOST_ARGS)

.PHONY: testhost-deps testhost-build testhost-up testhost-down testhost-ssh testhost-status

testhost-deps: ## Install the host packages the test host needs (apt, only those missing)
	@missing=$$(for p in $(TESTHOST_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

testhost-build: testhost-deps ## Debootstrap the cached Debian 12 rootfs (once, ~1 min)
	$(TESTHOST) build

testhost-up: testhost-deps ## Boot the local Debian test host (10.231.0.2, ssh as admin)
	$(TESTHOST) up

testhost-down: ## Power off the local test host and undo its network changes
	$(TESTHOST) down

testhost-status: ## Show whether the local test host is up, its address and init PID
	$(TESTHOST) status

testhost-ssh: ## SSH into the local test host as admin
	$(TESTHOST) ssh
