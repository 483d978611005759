// A real OpenID Provider (oidc-provider from npm) on 127.0.0.1, for
// tests/tests/interop.rs: a client-credentials client (`svc` / `svc-secret`)
// and one resource server (`https://api.test`, scopes `read` and `admin`)
// whose access tokens are RFC 9068 JWTs (`typ: at+jwt`), signed with ES256.
//
// Prints `listening on http://127.0.0.1:PORT` when ready. Each line `rotate`
// on stdin adds a new signing key in front of the old ones (the provider
// signs with the first) and answers `rotated KID`. Exits when stdin closes.
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const RESOURCE = 'https://api.test';

async function signingKey(kid) {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
}

function provider(issuer, keys) {
  const oidc = new Provider(issuer, {
    clients: [
      {
        client_id: 'svc',
        client_secret: 'svc-secret',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys },
    ttl: { ClientCredentials: 300 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resourceIndicator) => {
          if (resourceIndicator !== RESOURCE) throw new Error('unknown resource');
          return {
            scope: 'read admin',
            audience: RESOURCE,
            accessTokenTTL: 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
  });
  oidc.on('server_error', (ctx, error) => console.error('oidc-provider server_error', error));
  return oidc;
}

const keys = [await signingKey('key-1')];
let handler = null;
const server = createServer((req, res) => handler(req, res));
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  handler = provider(issuer, keys).callback();
  console.log(`listening on ${issuer}`);

  const lines = createInterface({ input: process.stdin });
  lines.on('line', async (line) => {
    if (line.trim() === 'rotate') {
      const kid = `key-${keys.length + 1}`;
      keys.unshift(await signingKey(kid));
      handler = provider(issuer, [...keys]).callback();
      console.log(`rotated ${kid}`);
    }
  });
  lines.on('close', () => server.close(() => process.exit(0)));
});
