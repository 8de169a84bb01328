// The aws-jwt-verify peer for benches/http/run.sh: a node:http server with GET /health and
// GET / (required auth). Configured from the environment run.sh sets: REGION, USERPOOL_ID,
// CLIENT_ID, JWKS_FILE (the minted JWKS, handed to the verifier's cache so no fetch is
// needed), PORT. Listens on 127.0.0.1 only.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { CognitoJwtVerifier } from "aws-jwt-verify";

const verifier = CognitoJwtVerifier.create({
  userPoolId: process.env.USERPOOL_ID,
  tokenUse: "access",
  clientId: process.env.CLIENT_ID,
});
verifier.cacheJwks(JSON.parse(readFileSync(process.env.JWKS_FILE, "utf8")));

const json = (res, status, body) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
};

createServer(async (req, res) => {
  if (req.method === "GET" && req.url === "/health") {
    return json(res, 200, { status: "ok" });
  }
  if (req.method === "GET" && req.url === "/") {
    const header = req.headers.authorization || "";
    const [scheme, token] = header.split(" ");
    if (scheme !== "Bearer" || !token) {
      return json(res, 401, { error: "missing_token" });
    }
    try {
      const claims = await verifier.verify(token);
      return json(res, 200, {
        sub: claims.sub, username: claims.username ?? null,
        token_use: claims.token_use, client_id: claims.client_id ?? null,
      });
    } catch {
      return json(res, 401, { error: "invalid_token" });
    }
  }
  return json(res, 404, { error: "not_found" });
}).listen(Number(process.env.PORT), "127.0.0.1");
