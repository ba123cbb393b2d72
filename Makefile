# The two commands: `make run` (the whole product, locally) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test
# The console's browser tests drive Debian's Chromium (Playwright may download no browser
# here) and need a CJK font for readable screenshots; the TLS proxy's test runs Debian's Caddy
# on loopback ports of its own: installed once with apt-get. (Where systemd runs, Debian starts
# a caddy service on port 80 at install: the recipe stops and disables it again.)
BROWSER_DEPS := /usr/bin/chromium /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc /usr/bin/caddy
run: $(VENV)/.run-deps
	$(BIN)/python run.py

test: $(VENV)/.test-deps $(BROWSER_DEPS)
	$(BIN)/python -m pytest

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: pyproject.toml $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-deps: pyproject.toml $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.run-deps

$(BROWSER_DEPS):
	@echo "make test: installing Debian's chromium, fonts-wqy-zenhei and caddy for the console's browser tests and the proxy's test"
	@SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	{ $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
	  && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei caddy >/dev/null; } \
	|| { echo "make test: could not install chromium, fonts-wqy-zenhei and caddy with apt-get (tests/test_console_browser.py and tests/test_production_proxy.py need them); install them as root and run make test again" >&2; exit 1; }
	@if [ -d /run/systemd/system ]; then $$([ "$$(id -u)" = 0 ] || echo sudo) systemctl disable --now caddy >/dev/null 2>&1 || true; fi
	@test -e $@ || { echo "make test: $@ is still missing after apt-get install" >&2; exit 1; }
