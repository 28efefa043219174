/**
 * What a person recognises a session by: the browser, the operating system and the kind of
 * device, parsed from its User-Agent by bowser (a maintained parser; it is loaded on first use,
 * by the pages that show sessions, never at cold start).
 */
export interface Device {
  /** e.g. "Firefox 133", or undefined when the parser does not know it. */
  readonly browser: string | undefined
  /** e.g. "macOS", "Android 14". */
  readonly os: string | undefined
  /** 'desktop' | 'mobile' | 'tablet' | 'tv', or undefined. */
  readonly type: string | undefined
  /** One line for a person: "Firefox 133 on macOS (desktop)", or "Unknown device". */
  readonly label: string
}

type Bowser = typeof import('bowser').default

let parser: Promise<Bowser> | undefined

function loadParser(): Promise<Bowser> {
  parser ??= import('bowser').then((m) => {
    const loaded = m.default as Bowser | { default: Bowser }
    return 'default' in loaded ? loaded.default : loaded
  })
  return parser
}

/** Parses a User-Agent header (absent or unrecognised: "Unknown device"). */
export async function describeDevice(userAgent: string | null | undefined): Promise<Device> {
  if (!userAgent) return { browser: undefined, os: undefined, type: undefined, label: 'Unknown device' }
  const Bowser = await loadParser()
  const result = Bowser.parse(userAgent.slice(0, 512))
  const major = result.browser.version?.split('.')[0]
  const browser = result.browser.name ? [result.browser.name, major].filter(Boolean).join(' ') : undefined
  const os = result.os.name
    ? [
        result.os.name,
        result.os.name === 'macOS' ? undefined : (result.os.versionName ?? result.os.version?.split('.')[0]),
      ]
        .filter(Boolean)
        .join(' ')
    : undefined
  const type = result.platform.type
  const what = browser && os ? `${browser} on ${os}` : (browser ?? os)
  const label = what ? `${what}${type ? ` (${type})` : ''}` : 'Unknown device'
  return { browser, os, type, label }
}
