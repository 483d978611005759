// Mints JWTs with jose (Node), for tests/tests/interop.rs.
//
// Reads a JSON job on stdin:
//   {"tokens": [{"alg": "ES256", "key_file": "...", "kid": "...", "claims": {...}}]}
// where key_file holds a PKCS#8 PEM private key, or the raw HMAC secret for HS*.
// Writes a JSON array of compact tokens (same order) on stdout.
import { readFileSync } from 'node:fs';
import { SignJWT, importPKCS8 } from 'jose';

const job = JSON.parse(readFileSync(0, 'utf8'));
const tokens = [];
for (const { alg, key_file: keyFile, kid, claims } of job.tokens) {
  const key = alg.startsWith('HS')
    ? new Uint8Array(readFileSync(keyFile))
    : await importPKCS8(readFileSync(keyFile, 'utf8'), alg);
  tokens.push(await new SignJWT(claims).setProtectedHeader({ alg, kid }).sign(key));
}
process.stdout.write(JSON.stringify(tokens));
