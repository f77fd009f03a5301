# NineRouter — `make run` and `make test` are the two commands a new machine needs.
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/ninerouter/target
export CARGO_TERM_COLOR ?= never
CARGO ?= cargo

# Debian packages the build and the tests need (checked one by one, installed only when missing):
# the engine's (PostgreSQL: the team-server tests start one of their own), then the desktop
# shell's (WebKitGTK, the tray, icons) and its tests' (an X server, X tools, the WebKit WebDriver).
APT_PACKAGES := pkg-config libdbus-1-dev dbus gnome-keyring libsecret-tools python3-venv chromium \
  postgresql \
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev \
  xvfb xauth x11-utils xdg-utils webkit2gtk-driver
BIN := $(CARGO_TARGET_DIR)/release/ninerouter
DESKTOP_BIN := $(CARGO_TARGET_DIR)/release/ninerouter-desktop
# Tools built from crates.io, cached outside the clone like the target dir.
TOOLS := $(HOME)/.cache/ninerouter/tools
TAURI_DRIVER := $(TOOLS)/bin/tauri-driver
# The Tauri CLI (from ui/'s npm packages) run from the root: the app crate is src-tauri.
TAURI := TAURI_APP_PATH=src-tauri ui/node_modules/.bin/tauri

# The official SDKs the client tests drive, pinned, in a virtualenv cached outside the clone.
SDK_VENV := $(HOME)/.cache/ninerouter/venv
SDK_PACKAGES := openai==2.54.0 anthropic==1.13.0 google-genai==2.25.0
SDK_STAMP := $(SDK_VENV)/.installed-$(shell echo '$(SDK_PACKAGES)' | md5sum | cut -c1-12)

.PHONY: deps sdk ui ui-test build build-desktop run test test-rust test-desktop lint bench bench-instructions valgrind hot-functions soak fmt fuzz package clean-cache types

# The dashboard (ui/): its npm packages, installed when the lock file changes (npm install,
# not npm ci: npm leaves other platforms' optional packages out of the lock, which npm ci
# then refuses), and its build,
# which the engine embeds.
UI_STAMP := ui/node_modules/.installed-$(shell md5sum ui/package-lock.json 2>/dev/null | cut -c1-12)
UI_SOURCES := $(shell find ui/src ui/index.html ui/vite.config.ts ui/tsconfig.json -type f 2>/dev/null)

deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust from rustup first"; exit 1; }
	@node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null \
	  || { echo "Node.js 20.19 or newer is needed to build the dashboard (https://nodejs.org)"; exit 1; }

$(UI_STAMP): ui/package-lock.json
	cd ui && npm install --no-audit --no-fund --loglevel=error
	touch $@

ui/dist/index.html: $(UI_STAMP) $(UI_SOURCES)
	cd ui && npm run --silent build

ui: deps ui/dist/index.html

ui-test: $(UI_STAMP)
	cd ui && npx vitest run

sdk: $(SDK_STAMP)

$(SDK_STAMP):
	test -x $(SDK_VENV)/bin/python || python3 -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/pip install --quiet --disable-pip-version-check $(SDK_PACKAGES)
	touch $@

build: deps ui
	$(CARGO) build --release --bin ninerouter

build-desktop: deps ui
	$(CARGO) build --release -p ninerouter-desktop

# With a display, the desktop app (tray, dashboard window); without one, the headless router.
run: deps ui
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
	  $(MAKE) --no-print-directory build-desktop && exec $(DESKTOP_BIN); \
	else \
	  $(MAKE) --no-print-directory build && exec $(BIN) serve; \
	fi

test: deps sdk ui lint ui-test test-rust test-desktop

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings
	$(CARGO) clippy -p ninerouter-desktop --all-targets --locked -- -D warnings

# The suite runs inside a private D-Bus session with an unlocked gnome-keyring, so the
# keychain tests use a real Secret Service; NINEROUTER_TEST_KEYRING makes them mandatory,
# NINEROUTER_SDK_PYTHON the official-SDK client tests and NINEROUTER_BROWSER the dashboard's
# browser test.
test-rust:
	dbus-run-session -- bash -c 'echo -n ci-keyring-pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null && NINEROUTER_TEST_KEYRING=1 NINEROUTER_SDK_PYTHON=$(SDK_VENV)/bin/python NINEROUTER_BROWSER=/usr/bin/chromium $(CARGO) test --locked --all-targets'

$(TAURI_DRIVER):
	$(CARGO) install tauri-driver --version ^2 --locked --root $(TOOLS)

# The desktop shell: its unit tests, then the built app end to end on a virtual X server and a
# private session bus (tray menu over dbusmenu, notifications, autostart, WebDriver window).
test-desktop: deps ui $(TAURI_DRIVER)
	xvfb-run -a -s "-screen 0 1280x1024x24" dbus-run-session -- env NINEROUTER_DESKTOP_TEST=1 NINEROUTER_TAURI_DRIVER=$(TAURI_DRIVER) NO_AT_BRIDGE=1 $(CARGO) test --locked -p ninerouter-desktop --all-targets

# The .deb of the desktop app (the other installers come from the release workflow). Updater
# artifacts need the signing key, which only the release workflow has.
package: deps ui
	$(TAURI) build --bundles deb --config '{"bundle":{"createUpdaterArtifacts":false}}'
	@ls -1 $(CARGO_TARGET_DIR)/release/bundle/deb/*.deb

# The dashboard's API types (ui/src/api/generated.ts), generated from the Rust ones; the
# test suite fails while the file is stale.
types:
	NINEROUTER_WRITE_TYPES=1 $(CARGO) test --lib --locked contract

bench: deps ui
	$(CARGO) bench --bench proxy

# Valgrind, for the two targets below that count what the router runs.
valgrind:
	@command -v valgrind >/dev/null || { SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends valgrind; }

# The functions a request runs, hottest first, for the linker to lay out first in release
# builds (.cargo/hot-functions.txt, read by .cargo/link-hot-first): the router run under
# Valgrind. Rerun when `make bench` shows the router's own code resident over 5 MiB.
hot-functions: deps ui valgrind
	$(CARGO) bench --bench proxy -- --hot-functions

# The router's instructions a request at c=8, counted by Valgrind: steady where `make bench`'s
# ratios move with the machine's load, so a change of a few percent shows.
bench-instructions: deps ui valgrind
	$(CARGO) bench --bench proxy -- --instructions

# An hour at 200 req/s with a mix of clients, streams and tool calls, printing latency and
# memory each minute (not in CI). SOAK_SECS, SOAK_RATE and SOAK_REPORT_SECS change it.
soak: deps ui
	$(CARGO) bench --bench soak

# The decoders' property tests (src/format/fuzz.rs, the SSE framer) with many more generated
# inputs than the short pass in `make test`: FUZZ_CASES per property, optimised.
FUZZ_CASES ?= 100000
fuzz: deps ui
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release --locked --lib -- format::fuzz:: format::sse::tests::framing_loses_and_invents_nothing

fmt:
	$(CARGO) fmt --all
