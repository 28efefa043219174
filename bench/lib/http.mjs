/** HTTP helpers the benchmark scenarios share. */

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

export const basic = (id, secret) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`

/** The body of a JSON response; a non-2xx status throws with the body. */
export async function json(res) {
  const body = await res.json()
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(body)}`)
  return body
}

/**
 * A new refresh token for a browser with a session: authorize (the session's cookie) answers a
 * code at once, which is exchanged with PKCE. A non-2xx exchange throws (json).
 * @param {{ base: string, client: { client_id: string, client_secret: string }, cookie: string,
 *   redirectUri: string, verifier: string, challenge: string }} flow
 * @returns {Promise<string | undefined>} undefined when authorize answered no code
 */
export async function refreshTokenThroughSession({ base, client, cookie, redirectUri, verifier, challenge }) {
  const authorize = new URL(`${base}/oauth/authorize`)
  authorize.search = new URLSearchParams({
    client_id: client.client_id,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid offline_access',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString()
  const res = await fetch(authorize, { redirect: 'manual', headers: { cookie } })
  const location = res.headers.get('location')
  const code = location && new URL(location).searchParams.get('code')
  if (!code) return undefined
  const tokens = await json(
    await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { ...FORM, authorization: basic(client.client_id, client.client_secret) },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        code_verifier: verifier,
      }),
    }),
  )
  return tokens.refresh_token
}

/**
 * The admin API as the bootstrap client: `api(method, path, body)` resolves to the JSON answer.
 * @param {string} base the server's URL
 * @param {{ client_id: string, client_secret: string }} admin
 */
export async function adminApi(base, admin) {
  const { access_token: token } = await json(
    await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { ...FORM, authorization: basic(admin.client_id, admin.client_secret) },
      body: 'grant_type=client_credentials',
    }),
  )
  return (method, path, body) =>
    fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: body && JSON.stringify(body),
    }).then(json)
}

/**
 * The server's batched-statement counters (`GET /metrics`): statement → { batches, items }.
 * Two readings around a run give its mean batch sizes (batchSizes).
 */
export async function batchCounters(base) {
  const text = await (await fetch(`${base}/metrics`)).text()
  const out = {}
  for (const m of text.matchAll(
    /^zenoauth_db_(batches|batched_items)_total\{statement="([^"]+)"\} (\d+)$/gm,
  )) {
    out[m[2]] ??= { batches: 0, items: 0 }
    out[m[2]][m[1] === 'batches' ? 'batches' : 'items'] = Number(m[3])
  }
  return out
}

/** "statement ~n" for each statement batched between two readings of batchCounters. */
export function batchSizes(before, after) {
  return Object.entries(after)
    .map(([name, a]) => [
      name,
      a.batches - (before[name]?.batches ?? 0),
      a.items - (before[name]?.items ?? 0),
    ])
    .filter(([, batches]) => batches > 0)
    .map(([name, batches, items]) => `${name} ~${(items / batches).toFixed(1)}`)
    .join(', ')
}
