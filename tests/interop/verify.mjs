// Verifies JWTs with jose (Node), for tests/tests/interop.rs.
//
// Reads a JSON job on stdin:
//   {"cases": [{"token": "...", "alg": "RS256", "key_file": "...", "iss": "...", "aud": "..."}]}
// where key_file holds a public key PEM (SubjectPublicKeyInfo), or the raw
// HMAC secret for HS*. jose is configured as strictly as it allows: the one
// algorithm, issuer, audience, `exp` required, 30 s clock tolerance.
// Writes a JSON array of {"ok": bool, "error": string} (same order) on stdout.
import { readFileSync } from 'node:fs';
import { importSPKI, jwtVerify } from 'jose';

const job = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const { token, alg, key_file: keyFile, iss, aud } of job.cases) {
  try {
    const key = alg.startsWith('HS')
      ? new Uint8Array(readFileSync(keyFile))
      : await importSPKI(readFileSync(keyFile, 'utf8'), alg);
    await jwtVerify(token, key, {
      algorithms: [alg],
      issuer: iss,
      audience: aud,
      requiredClaims: ['exp'],
      clockTolerance: 30,
    });
    results.push({ ok: true, error: '' });
  } catch (error) {
    results.push({ ok: false, error: `${error.code ?? error.name}: ${error.message}` });
  }
}
process.stdout.write(JSON.stringify(results));
