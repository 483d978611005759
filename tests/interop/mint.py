"""Mints JWTs with PyJWT or jwcrypto, for tests/tests/interop.rs.

Reads a JSON job on stdin:
    {"tokens": [{"lib": "pyjwt"|"jwcrypto", "alg": "ES256", "key_file": "...",
                 "kid": "...", "claims": {...}}]}
where key_file holds a PKCS#8 PEM private key, or the raw HMAC secret for HS*.
Writes a JSON array of compact tokens (same order) on stdout.
"""
import base64
import json
import sys

import jwt
from jwcrypto import jwk
from jwcrypto import jwt as jwcrypto_jwt


def load(path, alg):
    with open(path, "rb") as f:
        data = f.read()
    return data


def mint_pyjwt(job):
    key = load(job["key_file"], job["alg"])
    return jwt.encode(job["claims"], key, algorithm=job["alg"], headers={"kid": job["kid"]})


def mint_jwcrypto(job):
    data = load(job["key_file"], job["alg"])
    if job["alg"].startswith("HS"):
        key = jwk.JWK(kty="oct", k=base64.urlsafe_b64encode(data).rstrip(b"=").decode())
    else:
        key = jwk.JWK.from_pem(data)
    token = jwcrypto_jwt.JWT(header={"alg": job["alg"], "kid": job["kid"]}, claims=job["claims"])
    token.make_signed_token(key)
    return token.serialize()


def main():
    jobs = json.load(sys.stdin)["tokens"]
    minters = {"pyjwt": mint_pyjwt, "jwcrypto": mint_jwcrypto}
    json.dump([minters[job["lib"]](job) for job in jobs], sys.stdout)


if __name__ == "__main__":
    main()
