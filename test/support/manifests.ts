/**
 * Offline checks of the Kubernetes manifests under knative/: rendering (`kubectl kustomize`),
 * schema validation (kubernetes-models for every kind; the upstream CRD schemas in
 * ../shared/schemas with unknown fields rejected), and the deployment's invariants.
 * Every check returns messages naming the object, so a test can show what broke.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { Ajv, type ValidateFunction } from 'ajv'
import { parseAllDocuments, parse as parseYaml } from 'yaml'
import { parseNetworks } from '../../shared/http/client-ip.ts'
import { PLANE_PREFIXES, type Plane, planeOfPath } from '../../shared/planes.ts'

export const ROOT = path.resolve(import.meta.dirname, '../..')
export const SCHEMAS_DIR = path.resolve(ROOT, '../shared/schemas')

// biome-ignore lint/suspicious/noExplicitAny: manifests are arbitrary YAML, checked field by field.
export type Doc = Record<string, any>

export interface Route {
  readonly plane: Plane
  readonly method: string
  readonly path: string
}

const id = (d: Doc) =>
  `${d.kind}/${d.metadata?.namespace ? `${d.metadata.namespace}/` : ''}${d.metadata?.name}`

export function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** `kubectl kustomize <dir>`, parsed. */
export function render(dir: string): Doc[] {
  const out = execFileSync('kubectl', ['kustomize', dir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return parseAllDocuments(out).map((d) => d.toJS() as Doc)
}

// ---------------------------------------------------------------------------------------------
// Schemas

const MODEL_PACKAGES: Record<string, string> = {
  '': 'kubernetes-models',
  'networking.k8s.io': 'kubernetes-models',
  batch: 'kubernetes-models',
  policy: 'kubernetes-models',
  'serving.knative.dev': '@kubernetes-models/knative',
  'gateway.networking.k8s.io': '@kubernetes-models/gateway-api',
  'gateway.envoyproxy.io': '@kubernetes-models/envoy-gateway',
  'postgresql.cnpg.io': '@kubernetes-models/cloudnative-pg',
}

function groupOf(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.lastIndexOf('/')
  return i < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) }
}

/** Validates every document with its kubernetes-models class; a kind without one is an error. */
export async function validateWithModels(docs: Doc[]): Promise<string[]> {
  const errors: string[] = []
  for (const d of docs) {
    const { group } = groupOf(String(d.apiVersion))
    const pkg = MODEL_PACKAGES[group]
    if (!pkg) {
      errors.push(`${id(d)}: no model for ${d.apiVersion}`)
      continue
    }
    const mod = (await import(`${pkg}/${d.apiVersion}`)) as Record<
      string,
      new (
        data: Doc,
      ) => { validate(): void }
    >
    const Model = mod[d.kind]
    if (!Model) {
      errors.push(`${id(d)}: ${pkg} has no ${d.apiVersion} ${d.kind}`)
      continue
    }
    try {
      new Model(d).validate()
    } catch (err) {
      errors.push(`${id(d)}: ${(err as Error).message}`)
    }
  }
  return errors
}

/**
 * The CRDs' own schemas forbid nothing they do not list (no additionalProperties: false), so a
 * misspelt field would pass. Here every object schema that lists its properties, and does not
 * say it keeps unknown fields, rejects any other.
 */
function strict(schema: Doc): Doc {
  if (Array.isArray(schema)) return schema.map(strict)
  if (!schema || typeof schema !== 'object') return schema
  const out: Doc = {}
  for (const [k, v] of Object.entries(schema))
    out[k] = k === 'enum' || k === 'default' || k === 'example' ? v : strict(v)
  if (
    out.properties &&
    out.additionalProperties === undefined &&
    out['x-kubernetes-preserve-unknown-fields'] !== true
  )
    out.additionalProperties = false
  return out
}

let crdValidators: Map<string, ValidateFunction> | undefined

/** apiVersion + kind → validator, from every CRD under ../shared/schemas (empty when absent). */
export function crdSchemas(): Map<string, ValidateFunction> {
  if (crdValidators) return crdValidators
  crdValidators = new Map()
  if (!existsSync(SCHEMAS_DIR)) return crdValidators
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false })
  for (const dir of readdirSync(SCHEMAS_DIR, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue
    for (const file of readdirSync(path.join(SCHEMAS_DIR, dir.name))) {
      if (!file.endsWith('.yaml')) continue
      const crd = parseYaml(readFileSync(path.join(SCHEMAS_DIR, dir.name, file), 'utf8')) as Doc
      if (crd?.kind !== 'CustomResourceDefinition') continue
      for (const v of crd.spec.versions ?? []) {
        const schema = v.schema?.openAPIV3Schema
        if (schema)
          crdValidators.set(`${crd.spec.group}/${v.name} ${crd.spec.names.kind}`, ajv.compile(strict(schema)))
      }
    }
  }
  return crdValidators
}

const CORE_GROUPS = new Set(['', 'batch', 'networking.k8s.io', 'policy'])

/** Validates custom resources against the upstream CRD schemas; `checked` counts them. */
export function validateWithCrdSchemas(docs: Doc[]): { checked: number; errors: string[] } {
  const validators = crdSchemas()
  const errors: string[] = []
  let checked = 0
  for (const d of docs) {
    // Built-in kinds have no CRD: kubernetes-models checks them.
    if (CORE_GROUPS.has(groupOf(String(d.apiVersion)).group)) continue
    const validate = validators.get(`${d.apiVersion} ${d.kind}`)
    if (!validate) {
      if (validators.size > 0) errors.push(`${id(d)}: no upstream schema for ${d.apiVersion} ${d.kind}`)
      continue
    }
    checked++
    if (!validate(d))
      for (const e of validate.errors ?? [])
        errors.push(
          `${id(d)}: ${e.instancePath || '/'} ${e.message}${e.keyword === 'additionalProperties' ? ` '${e.params.additionalProperty}'` : ''}`,
        )
  }
  return { checked, errors }
}

// ---------------------------------------------------------------------------------------------
// Invariants

export const GATEWAY_OF: Record<Plane, string> = {
  auth: 'public',
  admin: 'internal',
  pim: 'internal',
  'break-glass': 'break-glass',
}

const RESOURCES: Record<Plane, { cpu: string; memory: string; limit: string }> = {
  auth: { cpu: '250m', memory: '64Mi', limit: '256Mi' },
  admin: { cpu: '100m', memory: '64Mi', limit: '192Mi' },
  pim: { cpu: '100m', memory: '64Mi', limit: '128Mi' },
  'break-glass': { cpu: '100m', memory: '64Mi', limit: '192Mi' },
}

// Memory a ZenoAuth process needs besides its password hashes: ~75 MiB measured under load, with
// headroom; each Argon2id hash that may run at once adds its 64 MiB (`npm run bench`, "memory limits").
const PROCESS_MIB = 128
const HASH_MIB = 64
// The planes whose routes hash passwords (login, user creation, break-glass accounts).
const HASHING_PLANES = new Set(['auth', 'admin', 'break-glass'])

/** A Kubernetes memory quantity in MiB (binary and decimal suffixes; plain bytes). */
export function mebibytes(quantity: unknown): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G)?$/.exec(String(quantity ?? ''))
  if (!m) return Number.NaN
  const factor = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1
  return (Number(m[1]) * factor) / 2 ** 20
}

/**
 * How many password hashes a container may run at once: PASSWORD_HASH_CONCURRENCY for a server
 * serving a hashing plane (undefined when unset: it then follows the node's cores), one for the
 * bootstrap command, none otherwise.
 */
function hashesAtOnce(container: Doc): number | undefined {
  if (container.args?.[0] === 'bootstrap') return 1
  const planes = String(envOf(container, 'PLANES')?.value ?? '').split(',')
  if (!planes.some((p) => HASHING_PLANES.has(p))) return 0
  const set = envOf(container, 'PASSWORD_HASH_CONCURRENCY')?.value
  return set === undefined ? undefined : Number(set)
}

const SECRET_VARIABLES = ['DATABASE_URL', 'DATABASE_LISTEN_URL', 'DATABASE_MIGRATION_URL', 'MASTER_KEY']

const of = (docs: Doc[], kind: string) => docs.filter((d) => d.kind === kind)
const knativeServices = (docs: Doc[]) =>
  docs.filter((d) => d.kind === 'Service' && d.apiVersion.startsWith('serving.knative.dev'))
const envOf = (container: Doc, name: string) => (container.env ?? []).find((e: Doc) => e.name === name)

/** The pod templates of every workload: Knative Services, Jobs and Pods. */
function podTemplates(docs: Doc[]): { owner: Doc; spec: Doc }[] {
  return [
    ...knativeServices(docs).map((d) => ({ owner: d, spec: d.spec?.template?.spec ?? {} })),
    ...of(docs, 'Job').map((d) => ({ owner: d, spec: d.spec?.template?.spec ?? {} })),
    ...of(docs, 'Pod').map((d) => ({ owner: d, spec: d.spec ?? {} })),
  ]
}

function planesOf(service: Doc): string[] {
  return String(envOf(service.spec.template.spec.containers[0], 'PLANES')?.value ?? '').split(',')
}

export function checkHardening(docs: Doc[]): string[] {
  const errors: string[] = []
  for (const { owner, spec } of podTemplates(docs)) {
    if (spec.automountServiceAccountToken !== false)
      errors.push(`${id(owner)}: mounts a service account token`)
    for (const c of spec.containers ?? []) {
      const sc = c.securityContext ?? {}
      const pod = spec.securityContext ?? {}
      const where = `${id(owner)} container ${c.name}`
      if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) errors.push(`${where}: runAsNonRoot is not true`)
      const uid = sc.runAsUser ?? pod.runAsUser
      if (!(uid > 0)) errors.push(`${where}: no non-root runAsUser`)
      if (sc.readOnlyRootFilesystem !== true) errors.push(`${where}: readOnlyRootFilesystem is not true`)
      if (sc.allowPrivilegeEscalation !== false)
        errors.push(`${where}: allowPrivilegeEscalation is not false`)
      if (sc.privileged) errors.push(`${where}: privileged`)
      if (!(sc.capabilities?.drop ?? []).includes('ALL'))
        errors.push(`${where}: does not drop ALL capabilities`)
      if (sc.capabilities?.add?.length) errors.push(`${where}: adds capabilities`)
      if ((sc.seccompProfile ?? pod.seccompProfile)?.type !== 'RuntimeDefault')
        errors.push(`${where}: seccomp profile is not RuntimeDefault`)
      for (const name of SECRET_VARIABLES) {
        const e = envOf(c, name)
        if (e && !e.valueFrom?.secretKeyRef)
          errors.push(`${where}: ${name} does not come from a secretKeyRef`)
      }
      for (const e of c.env ?? [])
        if (typeof e.value === 'string' && /postgres(ql)?:\/\/|password/i.test(e.value))
          errors.push(`${where}: ${e.name} holds a credential in plain text`)
      if (c.envFrom?.length) errors.push(`${where}: envFrom (every variable should be named)`)
      const hashes = hashesAtOnce(c)
      if (hashes === undefined)
        errors.push(
          `${where}: hashes passwords with no PASSWORD_HASH_CONCURRENCY, so its memory follows the node's cores`,
        )
      else if (hashes > 0) {
        const need = PROCESS_MIB + HASH_MIB * hashes
        const limit = mebibytes(c.resources?.limits?.memory)
        if (!(limit >= need))
          errors.push(
            `${where}: memory limit ${c.resources?.limits?.memory ?? 'none'} is under the ${need} MiB that ${hashes} password hash(es) at once need`,
          )
      }
    }
  }
  if (of(docs, 'Secret').length)
    errors.push('the manifests carry Secrets: they are created apart, never committed')
  for (const ns of of(docs, 'Namespace'))
    if (ns.metadata.labels?.['pod-security.kubernetes.io/enforce'] !== 'restricted')
      errors.push(`${id(ns)}: Pod Security 'restricted' is not enforced`)
  return errors
}

export function checkImages(docs: Doc[]): string[] {
  const images = new Set<string>()
  for (const { spec } of podTemplates(docs)) for (const c of spec.containers ?? []) images.add(c.image)
  const errors: string[] = []
  if (images.size !== 1)
    errors.push(`expected one image everywhere, found ${[...images].join(', ') || 'none'}`)
  for (const image of images)
    if (!/^[a-z0-9.-]+(:\d+)?\/[a-z0-9./_-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/.test(image))
      errors.push(`image '${image}' is not a registry reference with a tag or digest`)
  return errors
}

function annotation(service: Doc, key: string): string | undefined {
  return service.spec?.template?.metadata?.annotations?.[`autoscaling.knative.dev/${key}`]
}

/** The production split: one Service per plane, each sized, probed, scaled and routed as designed. */
export function checkPlanes(docs: Doc[], options: { warmBreakGlass?: boolean } = {}): string[] {
  const errors: string[] = []
  const services = knativeServices(docs)
  for (const plane of Object.keys(GATEWAY_OF) as Plane[]) {
    const name = `zenoauth-${plane}`
    const matching = services.filter((s) => s.metadata.name === name)
    if (matching.length !== 1) {
      errors.push(`expected one Knative Service ${name}, found ${matching.length}`)
      continue
    }
    const s = matching[0]!
    const where = id(s)
    if (s.metadata.namespace !== name) errors.push(`${where}: not in its own namespace ${name}`)
    if (planesOf(s).join(',') !== plane) errors.push(`${where}: PLANES is '${planesOf(s)}', not '${plane}'`)
    if (s.metadata.labels?.['networking.knative.dev/visibility'] !== 'cluster-local')
      errors.push(`${where}: reachable through Knative's own ingress, not only its gateway`)
    const min = Number(annotation(s, 'min-scale') ?? 0)
    const max = Number(annotation(s, 'max-scale') ?? 0)
    if (plane === 'auth' && !(min >= 2 && max >= 20))
      errors.push(`${where}: auth must scale out (min ≥ 2, max ≥ 20)`)
    if (plane === 'admin' && !(min >= 2 && max <= 3 && max >= min))
      errors.push(`${where}: admin runs 2-3 replicas`)
    if (plane === 'pim' && annotation(s, 'min-scale') !== '0') errors.push(`${where}: pim must scale to zero`)
    if (plane === 'break-glass' && annotation(s, 'min-scale') !== (options.warmBreakGlass ? '1' : '0'))
      errors.push(`${where}: break-glass min-scale must be ${options.warmBreakGlass ? '1 (warm)' : '0'}`)
    if (!annotation(s, 'target')) errors.push(`${where}: no concurrency target`)
    const spec = s.spec.template.spec
    if (!(spec.containerConcurrency > 0)) errors.push(`${where}: no containerConcurrency`)
    if (!(spec.timeoutSeconds > 0)) errors.push(`${where}: no timeoutSeconds`)
    const c = spec.containers[0]
    if (c.readinessProbe?.httpGet?.path !== '/health/readiness')
      errors.push(`${where}: readiness is not /health/readiness`)
    if (c.livenessProbe?.httpGet?.path !== '/health/liveness')
      errors.push(`${where}: liveness is not /health/liveness`)
    const want = RESOURCES[plane]
    const r = c.resources ?? {}
    if (r.requests?.cpu !== want.cpu || r.requests?.memory !== want.memory || r.limits?.memory !== want.limit)
      errors.push(
        `${where}: resources ${JSON.stringify(r)} are not ${want.cpu}/${want.memory}, limit ${want.limit}`,
      )
    if (!envOf(c, 'DATABASE_LISTEN_URL')) errors.push(`${where}: no direct DATABASE_LISTEN_URL for LISTEN`)
    if (envOf(c, 'MIGRATE_ON_START')?.value !== 'false') errors.push(`${where}: migrates at start-up`)
    if (plane === 'auth' || plane === 'admin') {
      const pdb = of(docs, 'PodDisruptionBudget').find(
        (b) =>
          b.metadata.namespace === name &&
          b.spec.selector?.matchLabels?.['serving.knative.dev/service'] === name,
      )
      if (!pdb || !(pdb.spec.minAvailable >= 1 && pdb.spec.minAvailable < min))
        errors.push(`${where}: no PodDisruptionBudget keeping at least one and fewer than min-scale pods`)
    }
  }
  return errors
}

// Gateway API path matching, ranked as Envoy Gateway ranks it: Exact, then RegularExpression,
// then PathPrefix; within a type, the longer value first.
const RANK: Record<string, number> = { Exact: 3, RegularExpression: 2, PathPrefix: 1 }

function pathMatches(match: Doc, p: string): boolean {
  const type = match.type ?? 'PathPrefix'
  const value = String(match.value ?? '/')
  if (type === 'Exact') return p === value
  // Envoy matches a regular expression against the whole path.
  if (type === 'RegularExpression') return new RegExp(`^(?:${value})$`).test(p)
  // Element by element: /auth matches /auth and /auth/x, never /authx.
  const prefix = value.replace(/\/+$/, '')
  return prefix === '' || p === prefix || p.startsWith(`${prefix}/`)
}

type Resolution =
  | { kind: 'plane'; plane: string; route: string }
  | { kind: 'refused'; route: string }
  | { kind: 'none' }

function listenerHost(gateway: Doc): string | undefined {
  return gateway.spec.listeners?.find((l: Doc) => l.name === 'https')?.hostname
}

/** Whether the gateway admits routes from this namespace (allowedRoutes selector on its labels). */
function admits(gateway: Doc, namespace: Doc | undefined): boolean {
  const allowed = gateway.spec.listeners?.[0]?.allowedRoutes?.namespaces
  if (!allowed || allowed.from === 'Same') return namespace?.metadata.name === gateway.metadata.namespace
  if (allowed.from === 'All') return true
  const labels = namespace?.metadata.labels ?? {}
  const sel = allowed.selector ?? {}
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false
  for (const e of sel.matchExpressions ?? []) {
    const has = labels[e.key] !== undefined
    if (e.operator === 'In' && !e.values.includes(labels[e.key])) return false
    if (e.operator === 'NotIn' && e.values.includes(labels[e.key])) return false
    if (e.operator === 'Exists' && !has) return false
    if (e.operator === 'DoesNotExist' && has) return false
  }
  return true
}

/** Which plane (if any) a request for `p` on `host` reaches through `gatewayName`. */
export function resolve(docs: Doc[], gatewayName: string, host: string, p: string): Resolution {
  const gateway = of(docs, 'Gateway').find((g) => g.metadata.name === gatewayName)
  if (!gateway) return { kind: 'none' }
  const namespaces = new Map(of(docs, 'Namespace').map((n) => [n.metadata.name, n]))
  const revisions = new Map(
    knativeServices(docs).map((s) => [`${s.metadata.namespace}/${s.spec.template.metadata?.name}`, s]),
  )
  let best: { rank: number; length: number; result: Resolution } | undefined
  for (const route of of(docs, 'HTTPRoute')) {
    const ns = route.metadata.namespace
    const attached = (route.spec.parentRefs ?? []).some(
      (r: Doc) => r.name === gatewayName && (r.namespace ?? ns) === gateway.metadata.namespace,
    )
    if (!attached || !admits(gateway, namespaces.get(ns))) continue
    const hostnames: string[] = route.spec.hostnames ?? [listenerHost(gateway) ?? host]
    if (!hostnames.includes(host) || listenerHost(gateway) !== host) continue
    for (const rule of route.spec.rules ?? []) {
      for (const m of rule.matches ?? [{ path: { type: 'PathPrefix', value: '/' } }]) {
        const pm = m.path ?? { type: 'PathPrefix', value: '/' }
        if (!pathMatches(pm, p)) continue
        const rank = RANK[pm.type ?? 'PathPrefix'] ?? 0
        const length = String(pm.value).length
        if (best && (best.rank > rank || (best.rank === rank && best.length >= length))) continue
        const refused = (rule.filters ?? []).some((f: Doc) => f.type === 'ExtensionRef')
        const backend = rule.backendRefs?.[0]
        const service = backend && revisions.get(`${backend.namespace ?? ns}/${backend.name}`)
        best = {
          rank,
          length,
          result: refused
            ? { kind: 'refused', route: id(route) }
            : service
              ? { kind: 'plane', plane: planesOf(service).join(','), route: id(route) }
              : { kind: 'refused', route: `${id(route)} (backend ${backend?.name} is no pinned revision)` },
        }
      }
    }
  }
  return best?.result ?? { kind: 'none' }
}

/** A concrete path for a route pattern (/api/v1/users/:id → /api/v1/users/x1). */
const samplePath = (pattern: string) => pattern.replace(/:[A-Za-z_]+/g, 'x1')

/**
 * Every route of dist/routes.json, and a probe just inside each plane prefix, reaches exactly
 * its own plane through exactly its own plane's gateway, and no plane through any other.
 */
export function checkRouting(docs: Doc[], routes: readonly Route[]): string[] {
  const errors: string[] = []
  const gateways = of(docs, 'Gateway')
  const hostOf = new Map(gateways.map((g) => [g.metadata.name, listenerHost(g) ?? '']))
  const probes: { plane: Plane; path: string; what: string }[] = routes.map((r) => ({
    plane: r.plane,
    path: samplePath(r.path),
    what: `${r.method} ${r.path}`,
  }))
  for (const [plane, prefixes] of Object.entries(PLANE_PREFIXES) as [Plane, readonly string[]][])
    for (const prefix of prefixes) {
      const p = `${prefix}${prefix.endsWith('/') ? '' : '-'}probe`
      probes.push({ plane: planeOfPath(p) ?? plane, path: p, what: `probe ${p}` })
    }
  for (const probe of probes) {
    for (const g of gateways) {
      const name = g.metadata.name
      const r = resolve(docs, name, hostOf.get(name)!, probe.path)
      const own = GATEWAY_OF[probe.plane] === name
      if (own && (r.kind !== 'plane' || r.plane !== probe.plane))
        errors.push(
          `${probe.what} (${probe.plane}) does not reach its plane through gateway ${name}: ${JSON.stringify(r)}`,
        )
      if (!own && r.kind === 'plane')
        errors.push(
          `${probe.what} (${probe.plane}) reaches plane ${r.plane} through gateway ${name} (${r.route})`,
        )
    }
  }
  // Each plane's HTTPRoute matches exactly the plane's prefixes, and sends them to the revision
  // its Service pins, with the headers the activator needs.
  for (const s of knativeServices(docs)) {
    const plane = planesOf(s).join(',') as Plane
    const revision = s.spec.template.metadata?.name
    const route = of(docs, 'HTTPRoute').find((r) => r.metadata.namespace === s.metadata.namespace)
    if (!route) {
      errors.push(`${id(s)}: no HTTPRoute in its namespace`)
      continue
    }
    const want = (PLANE_PREFIXES[plane] ?? [])
      .map((p) =>
        p.endsWith('/')
          ? `PathPrefix ${p.slice(0, -1)}`
          : `RegularExpression ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*`,
      )
      .sort()
    const got = route.spec.rules
      .flatMap((rule: Doc) => rule.matches.map((m: Doc) => `${m.path.type} ${m.path.value}`))
      .sort()
    if (JSON.stringify(got) !== JSON.stringify(want))
      errors.push(
        `${id(route)}: path matches ${JSON.stringify(got)} are not plane ${plane}'s prefixes ${JSON.stringify(want)}`,
      )
    for (const rule of route.spec.rules) {
      const backends = rule.backendRefs ?? []
      if (backends.length !== 1 || backends[0].name !== revision || backends[0].port !== 80)
        errors.push(`${id(route)}: rule ${rule.name} does not send to the pinned revision ${revision}:80`)
      const set = new Map(
        (rule.filters ?? [])
          .filter((f: Doc) => f.type === 'RequestHeaderModifier')
          .flatMap((f: Doc) => f.requestHeaderModifier.set ?? [])
          .map((h: Doc) => [h.name.toLowerCase(), h.value]),
      )
      if (
        set.get('knative-serving-revision') !== revision ||
        set.get('knative-serving-namespace') !== s.metadata.namespace
      )
        errors.push(
          `${id(route)}: rule ${rule.name} lacks the Knative-Serving-Revision/-Namespace headers of ${revision}`,
        )
    }
  }
  return errors
}

/** Default deny; ingress from the plane's gateway and Knative only; egress to its pooler and DNS. */
export function checkNetworkPolicies(docs: Doc[]): string[] {
  const errors: string[] = []
  for (const s of knativeServices(docs)) {
    const ns = s.metadata.namespace
    const plane = planesOf(s).join(',') as Plane
    const policies = of(docs, 'NetworkPolicy').filter((p) => p.metadata.namespace === ns)
    const denyAll = policies.some(
      (p) =>
        Object.keys(p.spec.podSelector ?? {}).length === 0 &&
        ['Ingress', 'Egress'].every((t) => p.spec.policyTypes?.includes(t)) &&
        !p.spec.ingress?.length &&
        !p.spec.egress?.length,
    )
    if (!denyAll) errors.push(`namespace ${ns}: no default-deny NetworkPolicy`)
    for (const p of policies) {
      for (const rule of p.spec.egress ?? []) {
        for (const peer of rule.to ?? []) {
          const nsName = peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name']
          const pods = peer.podSelector?.matchLabels ?? {}
          const ok =
            (nsName === 'zenoauth-db' && pods['cnpg.io/poolerName'] === `zenoauth-db-pooler-${plane}`) ||
            (nsName === 'zenoauth-db' &&
              pods['cnpg.io/cluster'] === 'zenoauth-db' &&
              pods['cnpg.io/instanceRole'] === 'primary') ||
            (nsName === 'kube-system' && pods['k8s-app'] === 'kube-dns')
          if (!ok || peer.ipBlock)
            errors.push(
              `${id(p)}: egress to ${JSON.stringify(peer)} is neither its pooler, the primary nor DNS`,
            )
        }
        if (!rule.to?.length) errors.push(`${id(p)}: egress to anywhere`)
        if (!rule.ports?.length) errors.push(`${id(p)}: egress on any port`)
      }
      for (const rule of p.spec.ingress ?? []) {
        for (const peer of rule.from ?? []) {
          const nsName = peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name']
          const pods = peer.podSelector?.matchLabels ?? {}
          const ok =
            (nsName === 'envoy-gateway-system' &&
              pods['gateway.envoyproxy.io/owning-gateway-name'] === GATEWAY_OF[plane] &&
              pods['gateway.envoyproxy.io/owning-gateway-namespace'] === 'zenoauth-gateways') ||
            (nsName === 'knative-serving' && ['activator', 'autoscaler'].includes(pods.app))
          if (!ok || peer.ipBlock)
            errors.push(`${id(p)}: ingress from ${JSON.stringify(peer)} is neither its gateway nor Knative`)
        }
        if (!rule.from?.length) errors.push(`${id(p)}: ingress from anywhere`)
      }
    }
  }
  return errors
}

/**
 * Ingress to the database namespace: default deny; each plane's namespace admitted to its own
 * pooler and the primary, and nowhere else; CloudNativePG's operator and the namespace's own
 * pods; no address ranges, no other namespace.
 */
export function checkDatabasePolicies(docs: Doc[]): string[] {
  const errors: string[] = []
  const ns = 'zenoauth-db'
  const policies = of(docs, 'NetworkPolicy').filter((p) => p.metadata.namespace === ns)
  const denyAll = policies.some(
    (p) =>
      Object.keys(p.spec.podSelector ?? {}).length === 0 &&
      p.spec.policyTypes?.includes('Ingress') &&
      !p.spec.ingress?.length,
  )
  if (!denyAll) errors.push(`namespace ${ns}: no default-deny ingress NetworkPolicy`)
  const admitted = new Set<string>()
  for (const p of policies) {
    const target = p.spec.podSelector?.matchLabels ?? {}
    const pooler = target['cnpg.io/poolerName'] as string | undefined
    const primary =
      target['cnpg.io/cluster'] === 'zenoauth-db' &&
      target['cnpg.io/instanceRole'] === 'primary' &&
      Object.keys(target).length === 2
    for (const rule of p.spec.ingress ?? []) {
      if (!rule.from?.length) errors.push(`${id(p)}: ingress from anywhere`)
      if (!rule.ports?.length) errors.push(`${id(p)}: ingress on any port`)
      for (const peer of rule.from ?? []) {
        const nsName = peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name']
        const pods = peer.podSelector?.matchLabels ?? {}
        const sameNamespace =
          !peer.namespaceSelector && !peer.ipBlock && peer.podSelector && Object.keys(pods).length === 0
        const operator = nsName === 'cnpg-system' && pods['app.kubernetes.io/name'] === 'cloudnative-pg'
        const plane = (Object.keys(GATEWAY_OF) as Plane[]).find((pl) => nsName === `zenoauth-${pl}`)
        const planeOk = plane !== undefined && (primary || pooler === `zenoauth-db-pooler-${plane}`)
        if (planeOk) admitted.add(`${plane} ${primary ? 'primary' : 'pooler'}`)
        if (peer.ipBlock || !(sameNamespace || operator || planeOk))
          errors.push(
            `${id(p)}: ingress from ${JSON.stringify(peer)} is neither this namespace, the operator, nor a plane to its own pooler or the primary`,
          )
      }
    }
  }
  for (const plane of Object.keys(GATEWAY_OF))
    for (const what of ['pooler', 'primary'])
      if (!admitted.has(`${plane} ${what}`))
        errors.push(`namespace ${ns}: plane ${plane} cannot reach its ${what}`)
  return errors
}

/** CloudNativePG: 3 instances with a synchronous replica; a transaction-mode pooler and role per plane. */
export function checkDatabase(docs: Doc[]): string[] {
  const errors: string[] = []
  const cluster = of(docs, 'Cluster')[0]
  if (!cluster) return ['no CloudNativePG Cluster']
  if (cluster.spec.instances !== 3) errors.push(`${id(cluster)}: ${cluster.spec.instances} instances, not 3`)
  if (!(cluster.spec.postgresql?.synchronous?.number >= 1))
    errors.push(`${id(cluster)}: no synchronous replica`)
  const roles = new Set((cluster.spec.managed?.roles ?? []).map((r: Doc) => r.name))
  for (const plane of Object.keys(GATEWAY_OF)) {
    const role = `zenoauth_${plane.replace('-', '_')}`
    if (!roles.has(role)) errors.push(`${id(cluster)}: no database role ${role}`)
    const pooler = of(docs, 'Pooler').find((p) => p.metadata.name === `zenoauth-db-pooler-${plane}`)
    if (!pooler) errors.push(`no Pooler for plane ${plane}`)
    else {
      if (pooler.spec.pgbouncer?.poolMode !== 'transaction')
        errors.push(`${id(pooler)}: not in transaction mode`)
      if (!(Number(pooler.spec.pgbouncer?.parameters?.max_prepared_statements) >= 1000))
        errors.push(`${id(pooler)}: max_prepared_statements below ZenoAuth's 1,000 named statements`)
      if (pooler.spec.cluster?.name !== cluster.metadata.name)
        errors.push(`${id(pooler)}: not for ${id(cluster)}`)
    }
  }
  return errors
}

/** Allowlists on the internal and break-glass gateways; flood limits on the public one. */
export function checkGatewayPolicies(docs: Doc[]): string[] {
  const errors: string[] = []
  for (const gateway of ['internal', 'break-glass']) {
    const policy = of(docs, 'SecurityPolicy').find((p) =>
      (p.spec.targetRefs ?? []).some((t: Doc) => t.kind === 'Gateway' && t.name === gateway),
    )
    const rules = policy?.spec.authorization?.rules ?? []
    if (
      policy?.spec.authorization?.defaultAction !== 'Deny' ||
      !rules.length ||
      !rules.every((r: Doc) => r.action === 'Allow' && r.principal?.clientCIDRs?.length)
    )
      errors.push(`gateway ${gateway}: no IP allowlist (SecurityPolicy, default Deny, Allow by clientCIDRs)`)
  }
  const limited = new Set(
    of(docs, 'BackendTrafficPolicy')
      .filter((p) => p.metadata.namespace === 'zenoauth-auth')
      .flatMap((p) => p.spec.rateLimit?.local?.rules ?? [])
      .flatMap((r: Doc) => (r.clientSelectors ?? []).map((c: Doc) => c.path?.value)),
  )
  for (const p of ['/oauth/token', '/auth/login'])
    if (!limited.has(p)) errors.push(`public gateway: no rate limit for ${p}`)
  for (const g of of(docs, 'Gateway')) {
    const proxy = g.spec.infrastructure?.parametersRef
    if (proxy?.kind !== 'EnvoyProxy' || !of(docs, 'EnvoyProxy').some((e) => e.metadata.name === proxy.name))
      errors.push(`${id(g)}: no Envoy fleet of its own (infrastructure.parametersRef to an EnvoyProxy)`)
  }
  // A client address inside the trusted proxy networks would be taken for a proxy, and the
  // address it claims in X-Forwarded-For believed: the allowlisted ranges must lie outside them.
  const trustedList = of(docs, 'ConfigMap').find((c) => c.data?.['trusted-proxy-cidrs'])?.data[
    'trusted-proxy-cidrs'
  ]
  if (trustedList) {
    const trusted = parseNetworks(trustedList)
    for (const policy of of(docs, 'SecurityPolicy'))
      for (const rule of policy.spec.authorization?.rules ?? [])
        for (const cidr of rule.principal?.clientCIDRs ?? []) {
          const [first, last] = ipv4Range(cidr)
          const overlaps =
            trusted.check(first, 'ipv4') ||
            trusted.check(last, 'ipv4') ||
            trustedList
              .split(',')
              .some((t: string) => parseNetworks(cidr).check(ipv4Range(t.trim())[0], 'ipv4'))
          if (overlaps)
            errors.push(
              `${id(policy)}: client range ${cidr} overlaps the trusted proxy networks ${trustedList}`,
            )
        }
  }
  const fleets = new Set(of(docs, 'Gateway').map((g) => g.spec.infrastructure?.parametersRef?.name))
  if (fleets.size !== of(docs, 'Gateway').length) errors.push('two gateways share an Envoy fleet')
  return errors
}

/** The first and last addresses of an IPv4 CIDR. */
function ipv4Range(cidr: string): [string, string] {
  const [address = '', bits = '32'] = cidr.split('/')
  const n = address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0)
  const size = 2 ** (32 - Number(bits))
  const start = n - (n % size)
  const dotted = (v: number) => [24, 16, 8, 0].map((shift) => Math.floor(v / 2 ** shift) % 256).join('.')
  return [dotted(start), dotted(start + size - 1)]
}

/** All production invariants. */
export function checkProduction(
  docs: Doc[],
  routes: readonly Route[],
  options: { warmBreakGlass?: boolean } = {},
) {
  return [
    ...checkImages(docs),
    ...checkHardening(docs),
    ...checkPlanes(docs, options),
    ...checkRouting(docs, routes),
    ...checkNetworkPolicies(docs),
    ...checkDatabasePolicies(docs),
    ...checkDatabase(docs),
    ...checkGatewayPolicies(docs),
  ]
}
