// A certified OpenID Provider (oidc-provider) on 127.0.0.1, for the OpenID Connect issuer
// test: client-credentials grants issue JWT access tokens (RFC 9068, typ at+jwt) for a
// resource indicator (RFC 8707). Two resources, one signed RS256 and one ES256, so the test
// gets a token of each algorithm; both keys are in the provider's JWKS, found by discovery.
//
// PORT (required): the port on 127.0.0.1 to listen on. Prints "ready <issuer>" once listening.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('PORT must be the port to listen on');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

// Fresh keys each start: the test only ever trusts what discovery publishes.
const privateJwk = (type, options, kid, alg) => ({
  ...generateKeyPairSync(type, options).privateKey.export({ format: 'jwk' }),
  kid,
  alg,
  use: 'sig',
});
const keys = [
  privateJwk('rsa', { modulusLength: 2048 }, 'rsa-1', 'RS256'),
  privateJwk('ec', { namedCurve: 'P-256' }, 'ec-1', 'ES256'),
];

// The resources a client may ask a token for (the `resource` parameter), each with its
// audience and the algorithm its tokens are signed with.
const resources = {
  'https://rs256.api.test': { alg: 'RS256' },
  'https://es256.api.test': { alg: 'ES256' },
};

const provider = new Provider(issuer, {
  jwks: { keys },
  clients: [
    {
      client_id: 'machine',
      client_secret: 'machine-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
      scope: 'read write',
    },
  ],
  scopes: ['read', 'write'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => false,
      getResourceServerInfo(_ctx, resourceIndicator) {
        const resource = resources[resourceIndicator];
        if (!resource) throw new Provider.errors.InvalidTarget();
        return {
          scope: 'read write',
          audience: resourceIndicator,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: resource.alg } },
        };
      },
    },
  },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
