// A fake OpenID Connect issuer on loopback for the console's sign-in test: discovery, JWKS, an authorize
// endpoint that signs in one test user at once and redirects back with a code, and a token endpoint that
// checks the PKCE verifier (S256) and answers RS256 ID and access tokens. Node's own crypto; nothing else.

import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { createServer } from "node:http";

const b64url = (buf) => Buffer.from(buf).toString("base64url");

export class FakeIssuer {
  /** `user`: the `sub` it signs in; `clientId`: the only client it knows. */
  static async start({ user, clientId }) {
    const issuer = new FakeIssuer();
    issuer.user = user;
    issuer.clientId = clientId;
    issuer.codes = new Map();
    issuer.exchanges = []; // what the token endpoint was asked, for the test to check
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    issuer.privateKey = privateKey;
    issuer.jwk = { ...publicKey.export({ format: "jwk" }), kid: "test-1", alg: "RS256", use: "sig" };
    issuer.server = createServer((req, res) => issuer.handle(req, res).catch((e) => issuer.send(res, 500, { error: e.message })));
    await new Promise((resolve) => issuer.server.listen(0, "127.0.0.1", resolve));
    issuer.url = `http://127.0.0.1:${issuer.server.address().port}`;
    return issuer;
  }

  close() {
    this.server.closeAllConnections?.();
    return new Promise((resolve) => this.server.close(resolve));
  }

  send(res, status, body, headers = {}) {
    res.writeHead(status, { "Access-Control-Allow-Origin": "*", "Content-Type": "application/json", ...headers });
    res.end(body === undefined ? "" : JSON.stringify(body));
  }

  jwt(claims) {
    const head = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: this.jwk.kid }));
    const body = b64url(JSON.stringify(claims));
    return `${head}.${body}.${b64url(sign("sha256", Buffer.from(`${head}.${body}`), this.privateKey))}`;
  }

  async handle(req, res) {
    const url = new URL(req.url, this.url);
    if (req.method === "OPTIONS") {
      return this.send(res, 204, undefined, { "Access-Control-Allow-Headers": "content-type", "Access-Control-Allow-Methods": "GET, POST" });
    }
    if (url.pathname === "/.well-known/openid-configuration") {
      return this.send(res, 200, {
        issuer: this.url,
        authorization_endpoint: `${this.url}/authorize`,
        token_endpoint: `${this.url}/token`,
        jwks_uri: `${this.url}/jwks`,
        response_types_supported: ["code"],
        code_challenge_methods_supported: ["S256"],
      });
    }
    if (url.pathname === "/jwks") return this.send(res, 200, { keys: [this.jwk] });
    if (url.pathname === "/authorize") {
      const q = url.searchParams;
      const problem =
        q.get("response_type") !== "code" ? "response_type" :
        q.get("client_id") !== this.clientId ? "client_id" :
        q.get("code_challenge_method") !== "S256" || !q.get("code_challenge") ? "code_challenge" :
        !q.get("state") || !q.get("nonce") ? "state/nonce" : null;
      if (problem) return this.send(res, 400, { error: "invalid_request", error_description: problem });
      const code = b64url(randomBytes(16));
      this.codes.set(code, { challenge: q.get("code_challenge"), nonce: q.get("nonce"), redirect: q.get("redirect_uri") });
      const back = new URL(q.get("redirect_uri"));
      back.searchParams.set("code", code);
      back.searchParams.set("state", q.get("state"));
      res.writeHead(302, { Location: back.toString() });
      return res.end();
    }
    if (url.pathname === "/token" && req.method === "POST") {
      let text = "";
      for await (const chunk of req) text += chunk;
      const form = new URLSearchParams(text);
      const grant = this.codes.get(form.get("code"));
      this.codes.delete(form.get("code"));
      const verifier = form.get("code_verifier") ?? "";
      const pkceOk = grant && b64url(createHash("sha256").update(verifier).digest()) === grant.challenge;
      this.exchanges.push({ pkceOk: Boolean(pkceOk), client: form.get("client_id"), secret: form.has("client_secret") });
      if (!grant || !pkceOk || form.get("redirect_uri") !== grant.redirect || form.get("client_id") !== this.clientId) {
        return this.send(res, 400, { error: "invalid_grant" });
      }
      const now = Math.floor(Date.now() / 1000);
      const common = { iss: this.url, sub: this.user, iat: now, nbf: now, exp: now + 600 };
      return this.send(res, 200, {
        token_type: "Bearer",
        expires_in: 600,
        id_token: this.jwt({ ...common, aud: this.clientId, nonce: grant.nonce }),
        // Cognito's shape: no `aud`, the client in `client_id`.
        access_token: this.jwt({ ...common, client_id: this.clientId, scope: "openid profile email", token_use: "access" }),
      });
    }
    return this.send(res, 404, { error: "not_found" });
  }
}
