// The aws-jwt-verify peer of benches/lambda/run.sh: a REST TOKEN authorizer as AWS's
// documentation writes one (a verifier created and hydrated at init, outside the handler),
// under a Runtime API loop of its own that, like Node's runtime interface client, keeps one
// keep-alive connection to the Runtime API. Configured from the environment run.sh sets:
// ISSUER, JWKS_URL, CLIENT_ID. Everything on 127.0.0.1.
import http from "node:http";
import { JwtRsaVerifier } from "aws-jwt-verify";
import { SimpleJwksCache } from "aws-jwt-verify/jwk";
import { validateCognitoJwtFields } from "aws-jwt-verify/cognito-verifier";

// aws-jwt-verify fetches over https only; the bench's JWKS is plain http on 127.0.0.1.
const fetcher = { fetch: async (uri) => (await fetch(uri)).arrayBuffer() };
const verifier = JwtRsaVerifier.create(
  {
    issuer: process.env.ISSUER,
    jwksUri: process.env.JWKS_URL,
    audience: null, // access tokens carry client_id, checked below
    customJwtCheck: ({ payload }) =>
      validateCognitoJwtFields(payload, { tokenUse: "access", clientId: process.env.CLIENT_ID }),
  },
  { jwksCache: new SimpleJwksCache({ fetcher }) },
);
await verifier.hydrate();

async function handler(event) {
  const [scheme, token] = (event.authorizationToken || "").split(" ");
  let payload;
  try {
    if (scheme !== "Bearer" || !token) throw new Error("no token");
    payload = await verifier.verify(token);
  } catch {
    throw new Error("Unauthorized");
  }
  return {
    principalId: payload.sub,
    policyDocument: {
      Version: "2012-10-17",
      Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: event.methodArn }],
    },
    context: { sub: payload.sub, username: payload.username, client_id: payload.client_id },
  };
}

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const call = (method, path, body) =>
  new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: `/2018-06-01/runtime/${path}`, agent }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    if (body !== undefined) {
      req.setHeader("content-type", "application/json");
      req.end(JSON.stringify(body));
    } else {
      req.end();
    }
  });

for (;;) {
  const next = await call("GET", "invocation/next");
  const id = next.headers["lambda-runtime-aws-request-id"];
  try {
    const answer = await handler(JSON.parse(next.body));
    await call("POST", `invocation/${id}/response`, answer);
  } catch (e) {
    await call("POST", `invocation/${id}/error`, { errorType: "Error", errorMessage: e.message });
  }
}
