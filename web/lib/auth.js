// Sign-in: OAuth 2.0 authorization code with PKCE against the authority named in
// /config.json — Cognito's hosted login in the cloud, crm-local's development login on one
// machine. One code path for both.

const TOKEN_KEY = 'crm.token';
const VERIFIER_KEY = 'crm.pkce';

function base64url(bytes) {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomText(n) {
  const bytes = new Uint8Array(n);
  crypto.getRandomValues(bytes);
  return base64url(bytes);
}

function redirectUri() {
  return location.origin + '/';
}

/** The claims of a JWT, unverified (the API verifies; the app only reads `exp`). */
function claims(token) {
  try {
    return JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
  } catch {
    return null;
  }
}

export function currentToken() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const c = token && claims(token);
  if (!c || (c.exp && c.exp * 1000 < Date.now() + 30000)) return null;
  return token;
}

export async function signIn(config) {
  const verifier = randomText(48);
  const state = randomText(16);
  sessionStorage.setItem(VERIFIER_KEY, JSON.stringify({ verifier, state, back: location.hash }));
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: config.auth.client_id,
    redirect_uri: redirectUri(),
    scope: 'openid email profile',
    state,
    code_challenge: base64url(digest),
    code_challenge_method: 'S256',
  });
  location.assign(`${config.auth.authorize_url}?${query}`);
}

/** Finishes a sign-in when the login sent us back with `?code=`; returns the token. */
export async function finishSignIn(config) {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  if (!code) return null;
  const saved = JSON.parse(sessionStorage.getItem(VERIFIER_KEY) || 'null');
  sessionStorage.removeItem(VERIFIER_KEY);
  history.replaceState(null, '', '/' + (saved?.back || ''));
  if (!saved || saved.state !== params.get('state')) return null;
  const response = await fetch(config.auth.token_url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: config.auth.client_id,
      code,
      code_verifier: saved.verifier,
      redirect_uri: redirectUri(),
    }),
  });
  if (!response.ok) return null;
  const answer = await response.json();
  // Cognito's id token carries `cognito:groups` and the client as `aud`, which is what the
  // HTTP API's JWT authorizer checks.
  const token = answer.id_token;
  sessionStorage.setItem(TOKEN_KEY, token);
  return token;
}

export function signOut(config) {
  sessionStorage.removeItem(TOKEN_KEY);
  const query = new URLSearchParams({ client_id: config.auth.client_id, logout_uri: redirectUri() });
  location.assign(`${config.auth.logout_url}?${query}`);
}
