// Sign-in through the stack's OpenID Connect issuer (issue 13.1): Authorization Code with PKCE (S256) for a
// public client, `state` and `nonce` checked, the token kept in sessionStorage as the token sign-in keeps it.
// GET /console/config.json says whether to use it ({"sign_in": "oidc", issuer, client_id, scopes}) or the
// pasted token ({"sign_in": "token"}).

const FLOW_KEY = "smsdesk.oidc.flow"; // {state, nonce, verifier} of the sign-in under way
const ID_TOKEN_KEY = "smsdesk.oidc.id_token"; // for the end-session hint

let config = null;
let discovery = null;

function base64url(bytes) {
  let text = "";
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

function payloadOf(jwt) {
  const part = (jwt ?? "").split(".")[1];
  if (!part) return null;
  try {
    return JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/")));
  } catch {
    return null;
  }
}

function redirectUri() {
  return `${location.origin}/`;
}

async function discover() {
  if (discovery) return discovery;
  const response = await fetch(`${config.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`the issuer's discovery document answered ${response.status}`);
  discovery = await response.json();
  return discovery;
}

/** Goes to the issuer's authorize endpoint. */
export async function startOidc() {
  const d = await discover();
  const flow = { state: randomText(), nonce: randomText(), verifier: randomText() };
  sessionStorage.setItem(FLOW_KEY, JSON.stringify(flow));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(flow.verifier)));
  const url = new URL(d.authorization_endpoint);
  const params = {
    response_type: "code",
    client_id: config.client_id,
    redirect_uri: redirectUri(),
    scope: config.scopes.join(" "),
    state: flow.state,
    nonce: flow.nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  location.assign(url.toString());
}

/** Back from the issuer with `?code=&state=`: the token, after the code exchange; null when not coming back. */
async function finish(session) {
  const query = new URLSearchParams(location.search);
  if (!query.has("code") && !query.has("error")) return null;
  // The code is single-use and must not stay in the history or a bookmark.
  history.replaceState(null, "", location.pathname);
  const flow = JSON.parse(sessionStorage.getItem(FLOW_KEY) ?? "null");
  sessionStorage.removeItem(FLOW_KEY);
  if (query.has("error")) throw new Error(`the issuer refused: ${query.get("error_description") ?? query.get("error")}`);
  if (!flow || query.get("state") !== flow.state) throw new Error("the sign-in came back with an unknown state");
  const d = await discover();
  const response = await fetch(d.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: query.get("code"),
      redirect_uri: redirectUri(),
      client_id: config.client_id,
      code_verifier: flow.verifier,
    }),
  });
  if (!response.ok) throw new Error(`the issuer's token endpoint answered ${response.status}`);
  const tokens = await response.json();
  const id = payloadOf(tokens.id_token);
  if (!id || id.nonce !== flow.nonce) throw new Error("the ID token does not carry this sign-in's nonce");
  sessionStorage.setItem(ID_TOKEN_KEY, tokens.id_token);
  // The API takes the access token when it is a JWT (Cognito: `client_id` and groups), else the ID token.
  const bearer = payloadOf(tokens.access_token) ? tokens.access_token : tokens.id_token;
  session.token = bearer;
  return bearer;
}

/**
 * At start-up: reads /console/config.json; under OIDC, offers the issuer's sign-in on the sign-in form and
 * completes a sign-in coming back from the issuer. Throws when that sign-in failed (the caller shows why).
 */
export async function oidcBoot(session) {
  try {
    const response = await fetch("/console/config.json");
    config = response.ok ? await response.json() : null;
  } catch {
    config = null;
  }
  if (config?.sign_in !== "oidc") return;
  const form = document.getElementById("signin-form");
  if (form && !document.getElementById("oidc-signin")) {
    const button = document.createElement("button");
    button.id = "oidc-signin";
    button.type = "button";
    button.textContent = "Sign in with your organization";
    button.addEventListener("click", () => startOidc().catch((e) => {
      const error = document.getElementById("signin-error");
      if (error) error.textContent = `Could not sign in: ${e.message}`;
    }));
    form.prepend(button);
  }
  await finish(session);
}

/** Sign out: forgets the token, and ends the issuer's session when it has an end-session endpoint. */
export async function oidcSignOut(session) {
  session.token = null;
  const idToken = sessionStorage.getItem(ID_TOKEN_KEY);
  sessionStorage.removeItem(ID_TOKEN_KEY);
  if (config?.sign_in !== "oidc") return false;
  const end = await discover().then((d) => d.end_session_endpoint).catch(() => null);
  if (!end) return false;
  const url = new URL(end);
  url.searchParams.set("client_id", config.client_id);
  url.searchParams.set("post_logout_redirect_uri", redirectUri());
  if (idToken) url.searchParams.set("id_token_hint", idToken);
  location.assign(url.toString());
  return true;
}
