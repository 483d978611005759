#!/usr/bin/env bash
# Installs the independent JOSE implementations used by tests/tests/interop.rs
# and tests/tests/dpop_interop.rs (DPoP proofs, through dpop.py and dpop.mjs)
# into this directory: PyJWT and jwcrypto into ./.venv (from PyPI, pinned in
# requirements.txt) and jose and oidc-provider into ./node_modules (from npm, pinned in
# package-lock.json). Idempotent; safe to run on every CI run.
#
# Needs python3 (with the venv module) and node + npm. When one is missing it
# says so and exits 0: interop.rs then skips that side loudly, unless
# TOKENGATE_REQUIRE_INTEROP=1, which turns the skip into a failure.
set -euo pipefail
cd "$(dirname "$0")"

if command -v python3 >/dev/null 2>&1; then
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv
    fi
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
    .venv/bin/python -c 'import jwt, jwcrypto; print("interop: PyJWT", jwt.__version__, "and jwcrypto installed")'
else
    echo "interop: python3 not found; the Python interoperability tests will be skipped" >&2
fi

if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    npm ci --silent --no-audit --no-fund 2>/dev/null || npm install --silent --no-audit --no-fund
    node -e 'Promise.all([import("jose"), import("oidc-provider")]).then(() => console.log("interop: jose and oidc-provider installed, node", process.version))' 2>&1 | grep -v WARNING
else
    echo "interop: node/npm not found; the Node interoperability tests will be skipped" >&2
fi
