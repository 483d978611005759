"""Mints DPoP proofs (RFC 9449 §4) with PyJWT or jwcrypto, for
tests/tests/dpop_interop.rs.

Reads a JSON job on stdin:
    {"proofs": [{"lib": "pyjwt"|"jwcrypto", "alg": "ES256", "key_file": "...",
                 "htm": "GET", "htu": "https://...", "iat": 1700000000,
                 "jti": "...", "access_token": "..."}]}
where key_file holds a PKCS#8 PEM private key. Each proof's header is
{"typ": "dpop+jwt", "alg", "jwk"} with the public key as the library exports
it; its claims are jti, htm, htu, iat and ath (base64url SHA-256 of the
access token, computed here). Writes a JSON array (same order) of
{"proof": "...", "jkt": "..."} on stdout, jkt being the RFC 7638 SHA-256
thumbprint of the public key as jwcrypto computes it.
"""
import base64
import hashlib
import json
import sys

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from jwcrypto import jwk
from jwcrypto import jwt as jwcrypto_jwt


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def claims(job):
    ath = b64url(hashlib.sha256(job["access_token"].encode("ascii")).digest())
    return {"jti": job["jti"], "htm": job["htm"], "htu": job["htu"], "iat": job["iat"], "ath": ath}


def read(path):
    with open(path, "rb") as f:
        return f.read()


def mint_pyjwt(job):
    key = load_pem_private_key(read(job["key_file"]), password=None)
    algorithm = jwt.algorithms.get_default_algorithms()[job["alg"]]
    public = json.loads(algorithm.to_jwk(key.public_key()))
    headers = {"typ": "dpop+jwt", "jwk": public}
    proof = jwt.encode(claims(job), key, algorithm=job["alg"], headers=headers)
    return {"proof": proof, "jkt": jwk.JWK(**public).thumbprint()}


def mint_jwcrypto(job):
    key = jwk.JWK.from_pem(read(job["key_file"]))
    public = key.export_public(as_dict=True)
    header = {"typ": "dpop+jwt", "alg": job["alg"], "jwk": public}
    proof = jwcrypto_jwt.JWT(header=header, claims=claims(job))
    proof.make_signed_token(key)
    return {"proof": proof.serialize(), "jkt": key.thumbprint()}


def main():
    jobs = json.load(sys.stdin)["proofs"]
    minters = {"pyjwt": mint_pyjwt, "jwcrypto": mint_jwcrypto}
    json.dump([minters[job["lib"]](job) for job in jobs], sys.stdout)


if __name__ == "__main__":
    main()
