// A throwaway OpenID Connect provider for onduty's tests, built on the npm
// package `oidc-provider` (pinned in package.json). It listens on 127.0.0.1
// over plain http, knows one client and four static accounts, and logs users
// in with oidc-provider's development login form (any password works).
//
// Environment:
//   OIDC_PORT           port to listen on (required)
//   OIDC_ISSUER         issuer the provider calls itself
//                       (default http://127.0.0.1:$OIDC_PORT; set it to
//                       something else to make the relying party refuse it)
//   OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI   the one client (required)
//   OIDC_MODE           normal (default) | expired | bad-signature
//     expired:        ID tokens live 1 s and /token answers 2.5 s late,
//                     so the ID token has expired when the client checks it
//     bad-signature:  /jwks publishes a different RSA key under the signing
//                     key's kid, so ID token signatures do not verify
//
// Prints "oidc-provider listening on <issuer>" once it accepts connections.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import Provider from 'oidc-provider';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`oidc-provider.mjs: ${name} must be set`);
    process.exit(2);
  }
  return value;
}

const port = Number(required('OIDC_PORT'));
const issuer = process.env.OIDC_ISSUER || `http://127.0.0.1:${port}`;
const mode = process.env.OIDC_MODE || 'normal';
if (!['normal', 'expired', 'bad-signature'].includes(mode)) {
  console.error(`oidc-provider.mjs: unknown OIDC_MODE ${mode}`);
  process.exit(2);
}

// An RSA key pair generated at start, exported as a JWK with a kid we choose.
function rsaJwk(type) {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...pair[type].export({ format: 'jwk' }), kid: 'test-signing-key', alg: 'RS256', use: 'sig' };
}
const signingKey = rsaJwk('privateKey');

// Static accounts, looked up by the login name typed into the dev login form.
const accounts = {
  alice: { email: 'alice@example.com', email_verified: true, name: 'Alice Admin', groups: ['oncall-admins', 'everyone'] },
  bob: { email: 'bob@example.com', email_verified: false, name: 'Bob Unverified', groups: ['everyone'] },
  carol: { email: 'carol@example.com', email_verified: true, name: 'Carol Responder', groups: ['responders'] },
  dave: { email: 'dave@example.com', email_verified: true, name: 'Dave Nogroups' }, // no groups claim
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: required('OIDC_CLIENT_ID'),
    client_secret: required('OIDC_CLIENT_SECRET'),
    redirect_uris: [required('OIDC_REDIRECT_URI')],
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  jwks: { keys: [signingKey] },
  // Scopes declared here (besides openid) become accepted scope values.
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  // Put the scope-granted claims (email, groups...) into the ID token itself
  // instead of only into the userinfo response.
  conformIdTokenClaims: false,
  pkce: { required: () => true }, // S256 is the only method oidc-provider accepts
  features: { devInteractions: { enabled: true } },
  // Signs the session/interaction cookies; random per run is fine for tests.
  cookies: { keys: [randomBytes(32).toString('hex')] },
  // Lifetimes in seconds. Setting them all also keeps oidc-provider from
  // printing "NOTICE: default ttl... called" lines on stdout.
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    Grant: 3600,
    IdToken: mode === 'expired' ? 1 : 3600,
    Interaction: 3600,
    Session: 3600,
  },
  // Plain-text error pages (the default one also prints a NOTICE on stdout).
  async renderError(ctx, out) {
    ctx.type = 'text/plain';
    ctx.body = `${out.error}: ${out.error_description}\n`;
  },
  // Unknown login names get no account (the provider then answers 500).
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, ...account };
      },
    };
  },
});

if (mode === 'expired') {
  // Mint the token right away, then sit on the answer long enough for the
  // 1-second ID token to expire before the client sees it.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.method === 'POST' && ctx.path === '/token') await sleep(2500);
  });
}

if (mode === 'bad-signature') {
  // Publish a different public key under the signing key's kid.
  const wrongKey = rsaJwk('publicKey'); // same kid, alg and use as signingKey
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.method === 'GET' && ctx.path === '/jwks' && ctx.status === 200) {
      ctx.body = { keys: [wrongKey] };
    }
  });
}

// Say why a request failed with "server_error" (e.g. an unknown login name).
provider.on('server_error', (ctx, err) => console.error('oidc-provider server_error:', err));

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});

// Let the test harness stop us cleanly.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
