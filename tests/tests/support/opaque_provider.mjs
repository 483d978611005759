// A real authorization server (oidc-provider from npm) on 127.0.0.1 issuing
// OPAQUE access tokens, for tests/tests/introspection*.rs. Run from
// tests/interop/ (where the packages are installed) with
// `node --input-type=module --eval`, by tests/tests/support/introspection.rs.
//
// - client `svc` / `svc-secret`: client credentials, scopes `read admin`,
//   for the resource `https://api.test`; it may revoke its own tokens;
// - client `api` / `api-secret`: the resource server, allowed to introspect.
//
// Prints `listening on http://127.0.0.1:PORT` when ready; exits when stdin closes.
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import Provider from 'oidc-provider';

const RESOURCE = 'https://api.test';

let handler = null;
const server = createServer((req, res) => handler(req, res));
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const oidc = new Provider(issuer, {
    clients: [
      {
        client_id: 'svc',
        client_secret: 'svc-secret',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      {
        client_id: 'api',
        client_secret: 'api-secret',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        allowedPolicy: async (ctx, client) => client.clientId === 'api',
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (ctx, client, token) => client.clientId === token.clientId,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resourceIndicator) => {
          if (resourceIndicator !== RESOURCE) throw new Error('unknown resource');
          return { scope: 'read admin', audience: RESOURCE, accessTokenTTL: 300, accessTokenFormat: 'opaque' };
        },
      },
    },
  });
  oidc.on('server_error', (ctx, error) => console.error('oidc-provider server_error', error));
  handler = oidc.callback();
  console.log(`listening on ${issuer}`);
  createInterface({ input: process.stdin }).on('close', () => server.close(() => process.exit(0)));
});
