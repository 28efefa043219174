/**
 * A browser as far as the flows need one: a cookie jar, manual redirects, HTML forms read for
 * their hidden fields. It sends requests through `send` (app.request, or fetch over HTTP).
 */
export type Send = (url: string, init: RequestInit) => Promise<Response>

const ENTITIES: Record<string, string> = {
  '&amp;': '&',
  '&quot;': '"',
  '&#39;': "'",
  '&lt;': '<',
  '&gt;': '>',
}
const decodeEntities = (s: string) => s.replace(/&(amp|quot|#39|lt|gt);/g, (m) => ENTITIES[m]!)

export interface Followed {
  readonly res: Response
  readonly url: string
  /** The redirect that left the issuer's origin (to a client), if the chain ended with one. */
  readonly external?: URL
  readonly body: string
}

export class Browser {
  readonly jar = new Map<string, string>()
  /** Whom this browser signed in as, when a test wants to remember it. */
  email: string | undefined
  private readonly send: Send
  readonly origin: string

  private readonly defaults: Record<string, string>

  /** `defaults` go on every request (an X-Forwarded-For, say, to be one client among many). */
  constructor(send: Send, origin: string, defaults: Record<string, string> = {}) {
    this.send = send
    this.origin = origin
    this.defaults = defaults
  }

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const absolute = new URL(url, this.origin).href
    const headers = new Headers(init.headers)
    for (const [k, v] of Object.entries(this.defaults)) if (!headers.has(k)) headers.set(k, v)
    if (this.jar.size) headers.set('cookie', [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '))
    if (!headers.has('host')) headers.set('host', new URL(this.origin).host)
    const res = await this.send(absolute, { ...init, headers, redirect: 'manual' })
    for (const cookie of res.headers.getSetCookie()) {
      const [pair, ...attributes] = cookie.split(';').map((p) => p.trim())
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq)
      const gone = attributes.some((a) => /^max-age=0$/i.test(a) || /^expires=Thu, 01 Jan 1970/i.test(a))
      if (gone) this.jar.delete(name)
      else this.jar.set(name, pair!.slice(eq + 1))
    }
    return res
  }

  get(url: string): Promise<Response> {
    return this.request(url)
  }

  post(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields).toString(),
    })
  }

  /** Follows redirects while they stay on the issuer's origin (bounded: 10 hops). */
  async follow(res: Response, url: string): Promise<Followed> {
    let current = res
    let at = url
    for (let hop = 0; hop < 10; hop++) {
      const location = current.headers.get('location')
      if (current.status < 300 || current.status >= 400 || !location) break
      const next = new URL(location, new URL(at, this.origin))
      if (next.origin !== new URL(this.origin).origin)
        return { res: current, url: at, external: next, body: '' }
      at = next.href
      current = await this.get(at)
    }
    return { res: current, url: at, body: await current.text() }
  }

  async visit(url: string): Promise<Followed> {
    return this.follow(await this.get(url), url)
  }

  async submit(action: string, fields: Record<string, string>): Promise<Followed> {
    return this.follow(await this.post(action, fields), action)
  }
}

/** The hidden inputs of the first form in a page. */
export function hiddenFields(page: string): Record<string, string> {
  const start = page.indexOf('<form')
  const form = page.slice(start, page.indexOf('</form>', start))
  const fields: Record<string, string> = {}
  for (const m of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    fields[decodeEntities(m[1]!)] = decodeEntities(m[2]!)
  return fields
}

export function formAction(page: string): string {
  return decodeEntities(/<form method="post" action="([^"]+)"/.exec(page)?.[1] ?? '')
}

/**
 * Signs in on the login page it is on (and consents, if asked) and returns where the flow
 * ended: normally the redirect to the client.
 */
export async function signIn(
  browser: Browser,
  at: Followed,
  email: string,
  password: string,
  decision: 'allow' | 'deny' = 'allow',
): Promise<Followed> {
  let step = at
  if (step.body.includes('action="') && step.body.includes('/auth/login"')) {
    step = await browser.submit(formAction(step.body), { ...hiddenFields(step.body), email, password })
  }
  if (step.body.includes('/auth/consent"')) {
    step = await browser.submit(formAction(step.body), { ...hiddenFields(step.body), decision })
  }
  return step
}
