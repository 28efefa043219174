/**
 * Configuration: environment variables parsed once by one zod schema (DESIGN.md §3).
 * Nothing else in the code base reads process.env.
 */
import { availableParallelism } from 'node:os'
import * as z from 'zod'
import { type ProxyTrust, parseNetworks } from './http/client-ip.ts'
import { isPlane, PLANES, type Plane } from './planes.ts'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

// Single transforms rather than regex → transform → pipe chains: the configuration is parsed
// once, at cold start, where every schema's first use costs.
const bool = z.string().transform((v, ctx) => {
  if (v === 'true' || v === '1') return true
  if (v === 'false' || v === '0') return false
  ctx.addIssue({ code: 'custom', message: 'must be true or false' })
  return z.NEVER
})

const int = (min: number, max: number) =>
  z.string().transform((v, ctx) => {
    if (!/^\d+$/.test(v)) ctx.addIssue({ code: 'custom', message: 'must be a whole number' })
    else if (Number(v) < min) ctx.addIssue({ code: 'custom', message: `must be at least ${min}` })
    else if (Number(v) > max) ctx.addIssue({ code: 'custom', message: `must be at most ${max}` })
    else return Number(v)
    return z.NEVER
  })

const postgresUrl = z.string().refine(
  (v) => {
    try {
      return ['postgres:', 'postgresql:'].includes(new URL(v).protocol)
    } catch {
      return false
    }
  },
  { error: 'must be a postgres:// or postgresql:// URL' },
)

const publicUrl = z.string().transform((v, ctx) => {
  let url: URL
  try {
    url = new URL(v)
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute http(s) URL' })
    return z.NEVER
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute http(s) URL' })
    return z.NEVER
  }
  if (url.search || url.hash || url.username || url.password) {
    ctx.addIssue({
      code: 'custom',
      message: 'must not carry credentials, a query or a fragment (it is the issuer)',
    })
    return z.NEVER
  }
  // An issuer has no trailing slash (OIDC Discovery §4.3 compares it exactly).
  return url.href.replace(/\/$/, '')
})

const planes = z.string().transform((v, ctx) => {
  const names = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  const unknown = names.filter((n) => !isPlane(n))
  if (unknown.length > 0 || names.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: `unknown plane ${unknown.map((u) => `'${u}'`).join(', ') || "''"} (expected a comma list of ${PLANES.join(', ')})`,
    })
    return z.NEVER
  }
  return [...new Set(names as Plane[])]
})

const masterKey = z.string().transform((v, ctx) => {
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(v) ? Buffer.from(v, 'base64') : undefined
  if (bytes?.length !== 32) {
    ctx.addIssue({
      code: 'custom',
      message: `must be 32 random bytes in base64 (got ${bytes ? `${bytes.length} bytes` : 'something that is not base64'}); generate one with: openssl rand -base64 32`,
    })
    return z.NEVER
  }
  return bytes
})

const EnvSchema = z.object({
  NODE_ENV: z.enum(['production', 'development', 'test']).default('production'),
  DATABASE_URL: postgresUrl,
  DATABASE_MIGRATION_URL: postgresUrl.optional(),
  DATABASE_LISTEN_URL: postgresUrl.optional(),
  DATABASE_POOL_MAX: int(1, 1000).default(10),
  DATABASE_BATCHES_IN_FLIGHT: int(1, 64).default(1),
  DATABASE_STATEMENT_TIMEOUT_MS: int(100, 600_000).default(5000),
  DATABASE_CONNECT_TIMEOUT_MS: int(100, 60_000).default(5000),
  DATABASE_RUNTIME_ROLE: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: 'must be a plain PostgreSQL role name' })
    .default('zenoauth_runtime'),
  PUBLIC_URL: publicUrl.optional(),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: int(0, 65535).default(8080),
  PLANES: planes.default([...PLANES]),
  MASTER_KEY: masterKey.optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  ACCESS_LOG: bool.default(true),
  TRUST_PROXY_HOPS: int(0, 10).default(0),
  TRUSTED_PROXY_CIDRS: z
    .string()
    .transform((v, ctx) => {
      try {
        return parseNetworks(v)
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message })
        return z.NEVER
      }
    })
    .optional(),
  MIGRATE_ON_START: bool.default(true),
  BODY_LIMIT_BYTES: int(1024, 16 * 1024 * 1024).default(256 * 1024),
  SHUTDOWN_TIMEOUT_MS: int(0, 300_000).default(25_000),
  READINESS_CACHE_MS: int(0, 60_000).default(1000),
  CACHE_TTL_MS: int(100, 3_600_000).default(30_000),
  KEY_ROTATION_DAYS: int(1, 3650).default(30),
  JOBS: bool.default(true),
  PASSWORD_HASH_CONCURRENCY: int(1, 256).optional(),
})

type Env = z.output<typeof EnvSchema>

export interface Config {
  readonly env: Env['NODE_ENV']
  readonly database: {
    readonly url: string
    readonly migrationUrl: string
    readonly listenUrl: string
    readonly poolMax: number
    /** Batches of one batched statement in flight at once (shared/db/batch.ts). */
    readonly batchesInFlight: number
    readonly statementTimeoutMs: number
    readonly connectTimeoutMs: number
    readonly runtimeRole: string
  }
  readonly publicUrl: string
  readonly host: string
  readonly port: number
  readonly planes: readonly Plane[]
  /** 32 bytes. Outside production an unset MASTER_KEY gets a fixed development key. */
  readonly masterKey: Buffer
  readonly masterKeyIsDevelopmentKey: boolean
  readonly logLevel: Env['LOG_LEVEL']
  readonly accessLog: boolean
  /** How X-Forwarded-For is trusted: a fixed number of hops, or trusted proxy networks. */
  readonly proxyTrust: ProxyTrust
  readonly migrateOnStart: boolean
  readonly bodyLimitBytes: number
  readonly shutdownTimeoutMs: number
  readonly readinessCacheMs: number
  /** How stale an in-process cache may get while the LISTEN connection is down. */
  readonly cacheTtlMs: number
  /** How long a signing key signs before the scheduled rotation replaces it. */
  readonly keyRotationPeriodMs: number
  /** Whether this process takes part in scheduled jobs (one process runs each, by lock). */
  readonly jobs: boolean
  /** Argon2id hashes run at once; unset: the cores this process may use. */
  readonly passwordHashConcurrency: number
}

/** Thrown by loadConfig; `problems` holds one line per bad variable, each naming it. */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG'
  readonly problems: readonly string[]
  constructor(problems: readonly string[]) {
    super(problems.join('\n'))
    this.name = 'ConfigError'
    this.problems = problems
  }
}

// A fixed key outside production keeps `npm start` zero-setup; production refuses to run without one.
const DEVELOPMENT_MASTER_KEY = Buffer.alloc(32, 0x5a)

/**
 * Parses the environment once into a frozen Config.
 * @throws ConfigError naming every missing or malformed variable.
 */
export function loadConfig(
  source: Readonly<Record<string, string | undefined>>,
  options: { readonly databaseOnly?: boolean } = {},
): Config {
  // An empty variable counts as unset, as shells and manifests commonly leave them.
  const input = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''))
  const parsed = EnvSchema.safeParse(input)
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? 'environment')
        const message =
          issue.code === 'invalid_type' && input[name] === undefined ? 'is required' : issue.message
        return `${name}: ${message}`
      })
  // Checked apart from the schema so they are reported together with any other problem.
  // `migrate` touches only the schema: it needs no master key and no issuer, so a migration Job
  // never holds the key that decrypts the signing keys.
  if ((input.NODE_ENV ?? 'production') === 'production' && !options.databaseOnly) {
    if (!input.MASTER_KEY) {
      problems.push(
        'MASTER_KEY: is required when NODE_ENV is production (32 random bytes in base64: openssl rand -base64 32)',
      )
    }
    if (!input.PUBLIC_URL) problems.push('PUBLIC_URL: is required when NODE_ENV is production')
  }
  if (input.TRUST_PROXY_HOPS !== undefined && input.TRUSTED_PROXY_CIDRS !== undefined)
    problems.push('TRUSTED_PROXY_CIDRS: set it or TRUST_PROXY_HOPS, not both')
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems)
  const env = parsed.data
  const publicUrl = env.PUBLIC_URL ?? `http://localhost:${env.PORT}`
  return deepFreeze({
    env: env.NODE_ENV,
    database: {
      url: env.DATABASE_URL,
      migrationUrl: env.DATABASE_MIGRATION_URL ?? env.DATABASE_URL,
      listenUrl: env.DATABASE_LISTEN_URL ?? env.DATABASE_URL,
      poolMax: env.DATABASE_POOL_MAX,
      batchesInFlight: env.DATABASE_BATCHES_IN_FLIGHT,
      statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
      runtimeRole: env.DATABASE_RUNTIME_ROLE,
    },
    publicUrl,
    host: env.HOST,
    port: env.PORT,
    planes: env.PLANES,
    masterKey: env.MASTER_KEY ?? DEVELOPMENT_MASTER_KEY,
    masterKeyIsDevelopmentKey: env.MASTER_KEY === undefined,
    logLevel: env.LOG_LEVEL,
    accessLog: env.ACCESS_LOG,
    proxyTrust: env.TRUSTED_PROXY_CIDRS
      ? { kind: 'networks', networks: env.TRUSTED_PROXY_CIDRS }
      : { kind: 'hops', hops: env.TRUST_PROXY_HOPS },
    migrateOnStart: env.MIGRATE_ON_START,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    readinessCacheMs: env.READINESS_CACHE_MS,
    cacheTtlMs: env.CACHE_TTL_MS,
    keyRotationPeriodMs: env.KEY_ROTATION_DAYS * 86_400_000,
    jobs: env.JOBS,
    passwordHashConcurrency: env.PASSWORD_HASH_CONCURRENCY ?? Math.max(1, availableParallelism()),
  })
}

function deepFreeze<T extends object>(value: T): T {
  for (const v of Object.values(value)) {
    if (v && typeof v === 'object' && !Buffer.isBuffer(v)) deepFreeze(v)
  }
  return Object.freeze(value)
}
