// Mints DPoP proofs (RFC 9449 §4) with jose (Node), for tests/tests/dpop_interop.rs.
//
// Reads a JSON job on stdin:
//   {"proofs": [{"alg": "ES256", "key_file": "...", "htm": "GET", "htu": "https://...",
//                "iat": 1700000000, "jti": "...", "access_token": "..."}]}
// where key_file holds a PKCS#8 PEM private key. Each proof's header is
// {"typ": "dpop+jwt", "alg", "jwk"} with the public key as jose exports it;
// its claims are jti, htm, htu, iat and ath (base64url SHA-256 of the access
// token). Writes a JSON array (same order) of {"proof": "...", "jkt": "..."}
// on stdout, jkt being jose's RFC 7638 SHA-256 thumbprint of the public key.
import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SignJWT, base64url, calculateJwkThumbprint, exportJWK, importPKCS8 } from 'jose';

const job = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const { alg, key_file: keyFile, htm, htu, iat, jti, access_token: token } of job.proofs) {
  const pem = readFileSync(keyFile, 'utf8');
  const privateKey = await importPKCS8(pem, alg);
  const jwk = await exportJWK(createPublicKey(pem));
  const ath = base64url.encode(createHash('sha256').update(token, 'ascii').digest());
  const proof = await new SignJWT({ htm, htu, ath })
    .setProtectedHeader({ typ: 'dpop+jwt', alg, jwk })
    .setJti(jti)
    .setIssuedAt(iat)
    .sign(privateKey);
  results.push({ proof, jkt: await calculateJwkThumbprint(jwk, 'sha256') });
}
process.stdout.write(JSON.stringify(results));
