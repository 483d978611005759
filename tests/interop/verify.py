"""Verifies JWTs with PyJWT or jwcrypto, for tests/tests/interop.rs.

Reads a JSON job on stdin:
    {"cases": [{"lib": "pyjwt"|"jwcrypto", "token": "...", "alg": "RS256",
                "key_file": "...", "iss": "...", "aud": "..."}]}
where key_file holds a public key PEM (SubjectPublicKeyInfo), or the raw
HMAC secret for HS*. Each library is configured as strictly as it allows:
the one algorithm, issuer, audience, and `exp` required.
Writes a JSON array of {"ok": bool, "error": str} (same order) on stdout.
"""
import base64
import json
import sys
import time

import jwt
from jwcrypto import jwk
from jwcrypto import jwt as jwcrypto_jwt


def load(path):
    with open(path, "rb") as f:
        return f.read()


def verify_pyjwt(case):
    jwt.decode(
        case["token"],
        load(case["key_file"]),
        algorithms=[case["alg"]],
        audience=case["aud"],
        issuer=case["iss"],
        leeway=30,
        options={"require": ["exp"], "strict_aud": False},
    )


def verify_jwcrypto(case):
    data = load(case["key_file"])
    if case["alg"].startswith("HS"):
        key = jwk.JWK(kty="oct", k=base64.urlsafe_b64encode(data).rstrip(b"=").decode())
    else:
        key = jwk.JWK.from_pem(data)
    token = jwcrypto_jwt.JWT(
        jwt=case["token"],
        key=key,
        algs=[case["alg"]],
        check_claims={"iss": case["iss"], "aud": case["aud"], "exp": None},
        expected_type="JWS",
    )
    # With check_claims given, jwcrypto checks `nbf` only when it is listed
    # there, and listing it makes it required. A careful caller checks an
    # optional `nbf` itself, as here.
    claims = json.loads(token.claims)
    if "nbf" in claims and claims["nbf"] > time.time() + 30:
        raise ValueError("nbf is in the future (checked by the caller)")


def main():
    cases = json.load(sys.stdin)["cases"]
    verifiers = {"pyjwt": verify_pyjwt, "jwcrypto": verify_jwcrypto}
    results = []
    for case in cases:
        try:
            verifiers[case["lib"]](case)
            results.append({"ok": True, "error": ""})
        except Exception as error:  # every refusal, whatever its class
            results.append({"ok": False, "error": f"{type(error).__name__}: {error}"})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
