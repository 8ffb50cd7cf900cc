# pgops.postgresql: every entry point does its own set-up (venv, Python requirements,
# system packages from bindep.txt). Run as root on Debian 12 (apt and cluster creation).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= $(CURDIR)/.venv
BIN := $(VENV)/bin
BUILD := $(CURDIR)/build
COLLECTIONS := $(BUILD)/collections
COLL_LINK := $(COLLECTIONS)/ansible_collections/pgops/postgresql
DOCS_VENV := $(CURDIR)/.venv-docs
SANITY_TREE := $(BUILD)/sanity/ansible_collections/pgops/postgresql
PGOPS_REPORT_DIR ?= $(CURDIR)/reports

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PGOPS_REPORT_DIR
export PATH := $(BIN):$(PATH)

.PHONY: help venv docs-venv system-packages collection demo test sanity lint unit integration molecule multihost bench bench-logs bench-pooling bench-monitoring bench-schema bench-upgrade bench-maintenance bench-backup bench-failover bench-fleet bench-scan docs docs-lint site changelog clean

help:
	@echo "make demo         install PostgreSQL 15 on localhost with playbooks/install.yml, run playbooks/daily.yml"
	@echo "make test         sanity + lint + docs-lint + site + unit + integration + molecule + multihost"
	@echo "make sanity|lint|unit|integration|molecule|multihost   one part of the tests"
	@echo "make bench        health_check and daily.yml on 1k and 10k tables, the audits, maintenance on 1 GB, the reviews at 10k tables, log_review beside pgBadger on 1 GB of log"
	@echo "make docs         regenerate role READMEs and the modules' check lists, build the reference site"
	@echo "make site         build the reference site only (build/docs-site/html); make docs-lint: antsibull-docs lint"

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

# The reference site's tools (Sphinx pins docutils below what the test tools use: a venv of their own).
$(DOCS_VENV)/.installed: requirements-docs.txt
	$(PYTHON) -m venv $(DOCS_VENV)
	$(DOCS_VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	$(DOCS_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-docs.txt
	touch $@

docs-venv: $(DOCS_VENV)/.installed

# System packages named in bindep.txt (profile: test) that are missing here.
system-packages: venv
	@missing="$$($(BIN)/bindep -b test || true)"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# The collection as Ansible and Python expect it: ansible_collections/pgops/postgresql.
collection:
	@mkdir -p $(dir $(COLL_LINK))
	@ln -sfn $(CURDIR) $(COLL_LINK)

demo: system-packages collection
	$(BIN)/ansible-playbook -i inventories/local playbooks/install.yml
	$(BIN)/ansible-playbook -i inventories/local playbooks/daily.yml
	@echo
	@echo "Daily health report: $$(cat $(PGOPS_REPORT_DIR)/daily/latest.txt)"

test: sanity lint docs-lint site unit integration molecule multihost

sanity: system-packages
	@rm -rf $(SANITY_TREE) && mkdir -p $(SANITY_TREE)
	@git ls-files -z --cached --others --exclude-standard | rsync -a --from0 --files-from=- ./ $(SANITY_TREE)/
	@$(BIN)/python tests/tools/offline_get_pip.py
	cd $(SANITY_TREE) && git init -q . && git add -A && \
	  $(BIN)/ansible-test sanity --python 3.11 --requirements --color no
	@rm -rf $(BUILD)/dist && $(BIN)/ansible-galaxy collection build --output-path $(BUILD)/dist . >/dev/null
	@! tar -tzf $(BUILD)/dist/*.tar.gz | grep -E '(^|/)(\.pytest_cache|__pycache__|\.venv|build|reports)/' \
	  || { echo 'the built collection carries local files (see build_ignore in galaxy.yml)'; exit 1; }
	@echo "collection builds: $$(ls $(BUILD)/dist)"

# ansible-lint installs a copy of the collection under ~/.ansible/collections; a stale copy
# (another checkout's) would hide new modules, so it is removed first.
lint: venv collection
	rm -rf $(HOME)/.ansible/collections/ansible_collections/pgops/postgresql
	$(BIN)/ansible-lint --offline --profile production

unit: venv collection
	$(BIN)/pytest -q tests/unit

integration: system-packages collection
	$(BIN)/python tests/tools/fetch_pg_major.py 15
	$(BIN)/python tests/tools/fetch_pg_major.py 16
	$(BIN)/pytest -q -n 2 tests/integration

# Three database hosts over SSH (network and mount namespaces with their own sshd, an unprivileged
# login with sudo): the collection built and installed with ansible-galaxy, install, daily and
# switchover run by their collection names with inventories/example.
multihost: system-packages
	$(BIN)/pytest -q -s tests/multihost

# molecule, like ansible-lint, runs a copy of the collection from ~/.ansible/collections: a stale one
# would test old roles, so it is removed first.
molecule: system-packages collection
	rm -rf $(HOME)/.ansible/collections/ansible_collections/pgops/postgresql
	cd $(CURDIR) && $(BIN)/molecule test -s install && $(BIN)/molecule test -s secure && $(BIN)/molecule test -s backup \
	  && $(BIN)/molecule test -s replication && $(BIN)/molecule test -s pooling

bench: system-packages collection
	$(BIN)/python tests/bench/bench_health_check.py
	$(BIN)/python tests/bench/bench_audits.py
	$(BIN)/python tests/bench/bench_maintenance.py
	$(BIN)/python tests/bench/bench_logs.py

# pgbench through pgbouncer (transaction mode) against direct connections, 50 and 200 clients.
bench-pooling: system-packages collection
	$(BIN)/python tests/bench/bench_pooling.py

# log_review beside pgBadger on one generated log of BENCH_LOG_MB megabytes (default 1024).
bench-logs: system-packages collection
	$(BIN)/python tests/bench/bench_logs.py

bench-maintenance: system-packages collection
	$(BIN)/python tests/bench/bench_maintenance.py

# prometheus-postgres-exporter scrape time with the monitoring role's queries, empty and at 10k tables.
bench-monitoring: system-packages collection
	$(BIN)/python tests/bench/bench_exporter.py

# schema_doc at 1,000 and 10,000 tables: time, round trips, size of the facts.
bench-schema: system-packages collection
	$(BIN)/python tests/bench/bench_schema_doc.py

bench-upgrade: system-packages collection
	$(BIN)/python tests/tools/fetch_pg_major.py 15
	$(BIN)/python tests/tools/fetch_pg_major.py 16
	$(BIN)/python tests/bench/bench_upgrade.py

bench-failover: system-packages collection
	$(BIN)/python tests/bench/bench_failover.py
	$(BIN)/python tests/bench/bench_pooled_switchover.py

bench-fleet: system-packages collection
	$(BIN)/python tests/bench/bench_fleet.py

# vulnerability_scan against the planted weak server and a hardened one: connections and time.
bench-scan: system-packages collection
	$(BIN)/python tests/bench/bench_vulnerability_scan.py

bench-backup: system-packages collection
	$(BIN)/python tests/bench/bench_backup.py

# Regenerate the documentation that is derived: role READMEs from argument_specs, the check and
# threshold lists of the checking modules from their registries.
docs: venv collection
	$(BIN)/python tests/tools/role_readme.py
	$(BIN)/python tests/tools/module_docs.py
	$(MAKE) site

# The collection as antsibull-docs sees it: this checkout, and the dependencies from the test venv.
DOCS_ENV = ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS):$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') \
	PATH=$(DOCS_VENV)/bin:$(PATH)

# The module and role reference (antsibull-docs) with the guide and runbooks of docs/, as static HTML
# in build/docs-site/html; Sphinx warnings are errors.
site: venv docs-venv collection
	$(DOCS_ENV) $(DOCS_VENV)/bin/python tests/tools/docs_site.py

# antsibull-docs' collection lint: the plugin and role documentation, references between them.
docs-lint: venv docs-venv collection
	$(DOCS_ENV) $(DOCS_VENV)/bin/antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs=all .

changelog: venv
	$(BIN)/antsibull-changelog lint

clean:
	rm -rf $(BUILD) tests/output .pytest_cache
