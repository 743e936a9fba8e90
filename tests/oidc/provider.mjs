// A tiny OpenID provider for raas's tests of external access tokens (tests/zeep/oidc_provider.py
// starts it): oidc-provider with the client-credentials grant only, issuing JWT access tokens
// (RFC 9068, `typ: at+jwt`) signed with the first key of a JWKS file, carrying the `org` claim
// of the client (its enterprise number). Discovery at {issuer}/.well-known/openid-configuration,
// the public keys at its jwks_uri.
//
// Settings, each a flag or else an environment variable:
//   --port N            OIDC_PORT          port on 127.0.0.1 (0: any free one; default 0)
//   --issuer URL        OIDC_ISSUER        the issuer (default http://127.0.0.1:{port}; {port}
//                                          stands for the port listened on); a path in it is
//                                          where the provider is mounted
//   --keys FILE         OIDC_KEYS          JSON {"keys": [private JWKs]}, each with kid and alg
//                                          (RS256, PS256, ES256, EdDSA…); the FIRST key signs,
//                                          the others are only published (a rotation: new key
//                                          first, old key kept)
//   --clients FILE      OIDC_CLIENTS       JSON [{client_id, client_secret, org?, scope?}]: org
//                                          the 10-digit enterprise number put into the tokens'
//                                          claim (absent: no such claim), scope the scopes the
//                                          client may get (default: every scope)
//   --audience AUD      OIDC_AUDIENCE      the default resource's audience (urn:raas:api)
//   --other-audience A  OIDC_OTHER_AUDIENCES  more resource servers a client may ask for with
//                                          `resource=` (comma-separated; default urn:other)
//   --claim NAME        OIDC_CLAIM         the claim holding the organisation (org)
//   --ttl SECONDS       OIDC_TTL           the access tokens' lifetime (300)
//   --log-requests      OIDC_LOG_REQUESTS=1  one line on stderr per request: `request: GET /jwks`
//   --exit-on-stdin-close                  stops when standard input closes (its parent gone)
//
// When listening it prints one line of JSON on stdout:
//   {"ready":true,"port":…,"issuer":"…","kids":[…],"signing_kid":"…"}
// and it stops on SIGTERM or SIGINT.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

const SCOPES = ['mailbox:read', 'mailbox:download'];

function fail(message) {
  process.stderr.write(`provider.mjs: ${message}\n`);
  process.exit(2);
}

function settings() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        port: { type: 'string' },
        issuer: { type: 'string' },
        keys: { type: 'string' },
        clients: { type: 'string' },
        audience: { type: 'string' },
        'other-audience': { type: 'string', multiple: true },
        claim: { type: 'string' },
        ttl: { type: 'string' },
        'exit-on-stdin-close': { type: 'boolean' },
        'log-requests': { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (e) {
    fail(e.message);
  }
  const env = process.env;
  const port = Number(parsed.port ?? env.OIDC_PORT ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port: not a port: ${parsed.port ?? env.OIDC_PORT}`);
  const ttl = Number(parsed.ttl ?? env.OIDC_TTL ?? '300');
  if (!Number.isInteger(ttl) || ttl < 1) fail('--ttl: a whole number of seconds ≥ 1 is expected');
  const keysFile = parsed.keys ?? env.OIDC_KEYS;
  if (!keysFile) fail('--keys FILE (or OIDC_KEYS) is required');
  const clientsFile = parsed.clients ?? env.OIDC_CLIENTS;
  if (!clientsFile) fail('--clients FILE (or OIDC_CLIENTS) is required');
  const others = parsed['other-audience']
    ?? (env.OIDC_OTHER_AUDIENCES ?? 'urn:other').split(',').map((s) => s.trim()).filter(Boolean);
  return {
    port,
    issuer: parsed.issuer ?? env.OIDC_ISSUER,
    keys: readJson(keysFile, 'keys'),
    clients: readJson(clientsFile, 'clients'),
    audience: parsed.audience ?? env.OIDC_AUDIENCE ?? 'urn:raas:api',
    otherAudiences: others,
    claim: parsed.claim ?? env.OIDC_CLAIM ?? 'org',
    ttl,
    exitOnStdinClose: parsed['exit-on-stdin-close'] ?? false,
    logRequests: parsed['log-requests'] ?? (env.OIDC_LOG_REQUESTS === '1'),
  };
}

function readJson(file, what) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return fail(`--${what} ${file}: ${e.message}`);
  }
}

function checkKeys(jwks) {
  if (!Array.isArray(jwks?.keys) || jwks.keys.length === 0) fail('--keys: {"keys": [at least one private JWK]} is expected');
  for (const key of jwks.keys) {
    if (typeof key.kid !== 'string' || !key.kid) fail('--keys: every key needs a kid');
    if (typeof key.alg !== 'string' || !key.alg) fail(`--keys: the key ${key.kid} needs an alg`);
    if (!key.d) fail(`--keys: the key ${key.kid} is not a private key`);
  }
  return jwks.keys;
}

function checkClients(clients) {
  if (!Array.isArray(clients) || clients.length === 0) fail('--clients: a JSON array of clients is expected');
  return clients.map((c) => {
    if (!c.client_id || !c.client_secret) fail('--clients: every client needs client_id and client_secret');
    if (c.org !== undefined && c.org !== null && !/^[01]\d{9}$/.test(String(c.org))) {
      fail(`--clients: ${c.client_id}: org must be a 10-digit enterprise number`);
    }
    const scope = c.scope ?? SCOPES.join(' ');
    for (const s of scope.split(' ').filter(Boolean)) {
      if (!SCOPES.includes(s)) fail(`--clients: ${c.client_id}: unknown scope ${s}`);
    }
    const client = {
      client_id: c.client_id,
      client_secret: c.client_secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
      scope,
    };
    if (c.org !== undefined && c.org !== null) client.org = String(c.org);
    return client;
  });
}

const config = settings();
const keys = checkKeys(config.keys);
const clients = checkClients(config.clients);
const signer = keys[0];

const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(config.port, '127.0.0.1', resolve);
});
const { port } = server.address();
const issuer = (config.issuer ?? 'http://127.0.0.1:{port}').replaceAll('{port}', String(port));
let mount;
try {
  mount = new URL(issuer).pathname.replace(/\/+$/, '');
} catch {
  fail(`--issuer: not a URL: ${issuer}`);
}

const resourceServers = new Map(
  [config.audience, ...config.otherAudiences].map((audience) => [audience, {
    audience,
    scope: SCOPES.join(' '),
    accessTokenFormat: 'jwt',
    accessTokenTTL: config.ttl,
    jwt: { sign: { alg: signer.alg, kid: signer.kid } },
  }]),
);

const provider = new Provider(issuer, {
  clients,
  jwks: { keys },
  scopes: SCOPES,
  extraClientMetadata: {
    properties: ['org'],
    validator(_ctx, key, value) {
      if (key === 'org' && value !== undefined && !/^[01]\d{9}$/.test(value)) {
        throw new Error('org must be a 10-digit enterprise number');
      }
    },
  },
  async extraTokenClaims(_ctx, token) {
    const client = await provider.Client.find(token.clientId);
    return client?.org ? { [config.claim]: client.org } : undefined;
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: false },
    revocation: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => config.audience,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resource) => {
        const info = resourceServers.get(resource);
        if (!info) throw new errors.InvalidTarget(`unknown resource ${resource}`);
        return info;
      },
    },
  },
  // No ID token is ever issued (client credentials only), but every client's metadata names
  // an alg for them that one of the keys must serve: the signing key's.
  enabledJWA: { idTokenSigningAlgValues: [...new Set(keys.map((k) => k.alg))] },
  clientDefaults: {
    grant_types: ['client_credentials'],
    response_types: [],
    id_token_signed_response_alg: signer.alg,
    token_endpoint_auth_method: 'client_secret_basic',
  },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  ttl: { ClientCredentials: config.ttl },
});
provider.on('server_error', (_ctx, error) => process.stderr.write(`server_error: ${error.stack}\n`));

const callback = provider.callback();
server.on('request', (req, res) => {
  if (config.logRequests) process.stderr.write(`request: ${req.method} ${req.url}\n`);
  // The provider is mounted at the issuer's path (as express would: originalUrl, url).
  req.originalUrl = req.url;
  if (mount) {
    if (req.url !== mount && !req.url.startsWith(`${mount}/`) && !req.url.startsWith(`${mount}?`)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"not_found"}');
      return;
    }
    req.url = req.url.slice(mount.length) || '/';
  }
  callback(req, res);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (config.exitOnStdinClose) {
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
}

process.stdout.write(`${JSON.stringify({
  ready: true, port, issuer, kids: keys.map((k) => k.kid), signing_kid: signer.kid,
})}\n`);
