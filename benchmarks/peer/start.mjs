// node-oidc-provider 9 as the reference OP that benchmarks/idp_throughput.py measures civid against.
//
// Configured as close to civid's benchmark set-up as the library allows: ES256 for ID tokens and JWT access
// tokens, refresh tokens rotated on every use, confidential clients (client_secret_basic) with the
// authorization_code and refresh_token grants and PKCE, the default in-memory adapter (so every token it
// answers lives only in this process: no database, nothing survives a crash — civid commits each one).
// Two clients, so that the benchmark can compare like with like where civid differs:
//   bench-opaque  opaque access tokens (the library's default; the only kind its UserInfo accepts)
//   bench-jwt     JWT access tokens (RFC 9068) for a resource server, as civid issues; UserInfo refuses them
// The login and consent are the library's development interactions (any login name, any password).
//
//   node benchmarks/peer/start.mjs PORT CLIENT_SECRET
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] ?? 3000);
const secret = process.argv[3] ?? 'bench-secret';
const issuer = `http://localhost:${port}`;
const redirectUri = 'http://127.0.0.1:9/callback';
const api = 'urn:civid:bench-api';

// A fresh P-256 key per start, as civid creates its own on first start.
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-es256', alg: 'ES256', use: 'sig' };

// The same claims civid's benchmark person answers with under `openid profile`.
const person = {
  given_name: 'Barack',
  family_name: 'Obama',
  birthdate: '1961-08-04',
  gender: 'male',
};

const client = (clientId) => ({
  client_id: clientId,
  client_secret: secret,
  redirect_uris: [redirectUri],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: 'ES256',
});

const provider = new Provider(issuer, {
  clients: [client('bench-opaque'), client('bench-jwt')],
  jwks: { keys: [jwk] },
  enabledJWA: { idTokenSigningAlgValues: ['ES256'] },
  claims: { openid: ['sub'], profile: ['given_name', 'family_name', 'birthdate', 'gender'] },
  scopes: ['openid', 'offline_access', 'profile', 'api'],
  cookies: { keys: [secret] },
  pkce: { required: () => true },
  rotateRefreshToken: true, // civid rotates on every use
  ttl: { AccessToken: 600, IdToken: 600, RefreshToken: 30 * 24 * 3600, Grant: 30 * 24 * 3600 },
  features: {
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Only bench-jwt's tokens are for the resource server, and so JWTs; bench-opaque's stay UserInfo's.
      defaultResource: async (ctx, c, oneOf) => oneOf ?? (c.clientId === 'bench-jwt' ? api : undefined),
      useGrantedResource: async (ctx) => ctx.oidc.client?.clientId === 'bench-jwt',
      getResourceServerInfo: async () => ({
        scope: 'api',
        audience: api,
        accessTokenFormat: 'jwt',
        accessTokenTTL: 600,
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  async findAccount(ctx, sub) {
    return { accountId: sub, claims: async () => ({ sub, ...person }) };
  },
});
provider.proxy = false;

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
