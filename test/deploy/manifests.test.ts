/**
 * knative/ rendered for each overlay and validated offline: every kind against its
 * kubernetes-models schema, custom resources also against the upstream CRD schemas with unknown
 * fields rejected, and the deployment's invariants (test/support/manifests.ts).
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import {
  checkHardening,
  checkImages,
  checkProduction,
  type Doc,
  hasKubectl,
  ROOT,
  type Route,
  render,
  SCHEMAS_DIR,
  validateWithCrdSchemas,
  validateWithModels,
} from '../support/manifests.ts'

const KUBECTL = hasKubectl()
const HAS_SCHEMAS = existsSync(SCHEMAS_DIR)
const BUILT_IN = new Set(['v1', 'batch/v1', 'networking.k8s.io/v1', 'policy/v1'])
const customResources = (docs: Doc[]) => docs.filter((d) => !BUILT_IN.has(d.apiVersion)).length
if (!KUBECTL) console.warn('kubectl is not installed: rendering the overlays is skipped')

const overlay = (name: string) => path.join(ROOT, 'knative/overlays', name)
let routes: Route[]
const rendered: Record<string, Doc[]> = {}

beforeAll(() => {
  routes = JSON.parse(readFileSync(path.join(inject('artifactDir'), 'routes.json'), 'utf8'))
  if (!KUBECTL) return
  rendered.production = render(overlay('production'))
  rendered.dev = render(overlay('dev'))
})

const clone = (docs: Doc[]): Doc[] => structuredClone(docs)
const find = (docs: Doc[], kind: string, name: string, namespace?: string) => {
  const d = docs.find(
    (x) => x.kind === kind && x.metadata.name === name && (!namespace || x.metadata.namespace === namespace),
  )
  if (!d) throw new Error(`${kind}/${name} not rendered`)
  return d
}

describe.skipIf(!KUBECTL)('the overlays', () => {
  it.each(['production', 'dev'])(
    '%s renders and every object is valid for its kubernetes-models schema',
    async (name) => {
      const docs = rendered[name]!
      expect(docs.length).toBeGreaterThan(0)
      expect(await validateWithModels(docs)).toEqual([])
    },
  )

  it.each(['production', 'dev'])(
    '%s is valid for the upstream CRD schemas, unknown fields rejected',
    (name) => {
      const result = validateWithCrdSchemas(rendered[name]!)
      expect(result.errors).toEqual([])
      if (HAS_SCHEMAS) expect(result.checked).toBe(customResources(rendered[name]!))
      else console.warn(`no upstream CRD schemas at ${SCHEMAS_DIR}: this step is skipped`)
    },
  )

  it('production holds every invariant: one image, PLANES, scaling, hardening, routing, policies, database', () => {
    expect(checkProduction(rendered.production!, routes)).toEqual([])
  })

  it('production with the warm break-glass component keeps one replica', () => {
    const docs = render(path.join(ROOT, 'test/deploy/fixtures/production-warm-break-glass'))
    expect(checkProduction(docs, routes, { warmBreakGlass: true })).toEqual([])
  })

  it('dev: one namespace, one Service serving all planes, hardened, a single PostgreSQL instance', () => {
    const docs = rendered.dev!
    const services = docs.filter((d) => d.apiVersion.startsWith('serving.knative.dev'))
    expect(services).toHaveLength(1)
    const env = services[0]!.spec.template.spec.containers[0].env as Doc[]
    expect(env.find((e) => e.name === 'PLANES')?.value).toBe('auth,admin,pim,break-glass')
    expect(new Set(env.map((e) => e.name)).size).toBe(env.length)
    expect(new Set(docs.map((d) => d.metadata.namespace).filter(Boolean))).toEqual(new Set(['zenoauth-dev']))
    expect(docs.find((d) => d.kind === 'Cluster')?.spec.instances).toBe(1)
    expect([...checkImages(docs), ...checkHardening(docs)]).toEqual([])
  })

  it('the one-off bootstrap pod: valid, hardened, the same image, no owner credentials', async () => {
    const docs = render(path.join(ROOT, 'knative/bootstrap'))
    expect(await validateWithModels(docs)).toEqual([])
    expect([...checkImages([...docs, ...rendered.production!]), ...checkHardening(docs)]).toEqual([])
    const env = docs[0]!.spec.containers[0].env as Doc[]
    expect(env.find((e) => e.name === 'DATABASE_MIGRATION_URL')).toBeUndefined()
    expect(env.find((e) => e.name === 'MIGRATE_ON_START')?.value).toBe('false')
  })
})

describe.skipIf(!KUBECTL)('a broken manifest fails the checks', () => {
  it.skipIf(!HAS_SCHEMAS)('an unknown field', () => {
    const docs = clone(rendered.production!)
    find(docs, 'Service', 'zenoauth-auth').spec.template.spec.containers[0].imagePullPolicyy = 'Always'
    find(docs, 'HTTPRoute', 'zenoauth-admin').spec.rules[0].timeout = { request: '5s' }
    const { errors } = validateWithCrdSchemas(docs)
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringContaining(
          "Service/zenoauth-auth/zenoauth-auth: /spec/template/spec/containers/0 must NOT have additional properties 'imagePullPolicyy'",
        ),
        expect.stringContaining(
          "HTTPRoute/zenoauth-admin/zenoauth-admin: /spec/rules/0 must NOT have additional properties 'timeout'",
        ),
      ]),
    )
  })

  it('a wrong plane path: pim routed by /api/v1 no longer owns /api/v1/pim', () => {
    const docs = clone(rendered.production!)
    find(docs, 'HTTPRoute', 'zenoauth-pim').spec.rules[0].matches[0].path.value = '/api/v1'
    expect(checkProduction(docs, routes)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^HTTPRoute\/zenoauth-pim\/zenoauth-pim: path matches .* are not plane pim's prefixes/,
        ),
        expect.stringMatching(
          /^probe \/api\/v1\/pim\/probe \(pim\) does not reach its plane through gateway internal/,
        ),
      ]),
    )
  })

  it('a route of one plane exposed on another gateway', () => {
    const docs = clone(rendered.production!)
    find(docs, 'HTTPRoute', 'not-this-gateway-public').spec.rules = []
    expect(checkProduction(docs, routes)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^probe \/auth\/emergency--probe \(break-glass\) reaches plane auth through gateway public/,
        ),
      ]),
    )
  })

  it('missing hardening, a secret in plain text, a second image, a plane that no longer scales to zero', () => {
    const docs = clone(rendered.production!)
    const admin = find(docs, 'Service', 'zenoauth-admin').spec.template
    delete admin.spec.containers[0].securityContext.readOnlyRootFilesystem
    admin.spec.containers[0].env.find((e: Doc) => e.name === 'DATABASE_URL').valueFrom = undefined
    admin.spec.containers[0].env.find((e: Doc) => e.name === 'DATABASE_URL').value =
      'postgres://u:p@db/zenoauth'
    docs.find((d) => d.kind === 'Job')!.spec.template.spec.containers[0].image =
      'ghcr.io/zenoauth/zenoauth:0.0.9'
    find(docs, 'Service', 'zenoauth-pim').spec.template.metadata.annotations[
      'autoscaling.knative.dev/min-scale'
    ] = '1'
    find(docs, 'Namespace', 'zenoauth-pim').metadata.labels['pod-security.kubernetes.io/enforce'] = 'baseline'
    expect(checkProduction(docs, routes)).toEqual(
      expect.arrayContaining([
        'Service/zenoauth-admin/zenoauth-admin container zenoauth: readOnlyRootFilesystem is not true',
        'Service/zenoauth-admin/zenoauth-admin container zenoauth: DATABASE_URL does not come from a secretKeyRef',
        'Service/zenoauth-admin/zenoauth-admin container zenoauth: DATABASE_URL holds a credential in plain text',
        expect.stringMatching(/^expected one image everywhere/),
        'Service/zenoauth-pim/zenoauth-pim: pim must scale to zero',
        "Namespace/zenoauth-pim: Pod Security 'restricted' is not enforced",
      ]),
    )
  })

  it('a hashing plane whose memory limit cannot hold its password hashes, or whose hashes are unbounded', () => {
    const docs = clone(rendered.production!)
    find(docs, 'Service', 'zenoauth-admin').spec.template.spec.containers[0].resources.limits.memory = '128Mi'
    const auth = find(docs, 'Service', 'zenoauth-auth').spec.template.spec.containers[0]
    auth.env = auth.env.filter((e: Doc) => e.name !== 'PASSWORD_HASH_CONCURRENCY')
    const boot = render(path.join(ROOT, 'knative/bootstrap'))
    boot[0]!.spec.containers[0].resources.limits.memory = '134217728'
    expect([...checkProduction(docs, routes), ...checkHardening(boot)]).toEqual(
      expect.arrayContaining([
        'Service/zenoauth-admin/zenoauth-admin container zenoauth: memory limit 128Mi is under the 192 MiB that 1 password hash(es) at once need',
        "Service/zenoauth-auth/zenoauth-auth container zenoauth: hashes passwords with no PASSWORD_HASH_CONCURRENCY, so its memory follows the node's cores",
        'Pod/zenoauth-admin/zenoauth-bootstrap container bootstrap: memory limit 134217728 is under the 192 MiB that 1 password hash(es) at once need',
      ]),
    )
  })

  it('a database namespace open to other namespaces, or a plane admitted to another plane’s pooler', () => {
    const docs = clone(rendered.production!)
    find(docs, 'NetworkPolicy', 'zenoauth-db-pooler-admin', 'zenoauth-db').spec.ingress[0].from[0] = {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'zenoauth-auth' } },
    }
    find(docs, 'NetworkPolicy', 'zenoauth-db-within-namespace', 'zenoauth-db').spec.ingress[0].from.push({
      namespaceSelector: {},
    })
    expect(checkProduction(docs, routes)).toEqual(
      expect.arrayContaining([
        'NetworkPolicy/zenoauth-db/zenoauth-db-pooler-admin: ingress from {"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"zenoauth-auth"}}} is neither this namespace, the operator, nor a plane to its own pooler or the primary',
        'namespace zenoauth-db: plane admin cannot reach its pooler',
        'NetworkPolicy/zenoauth-db/zenoauth-db-within-namespace: ingress from {"namespaceSelector":{}} is neither this namespace, the operator, nor a plane to its own pooler or the primary',
      ]),
    )
    const open = clone(rendered.production!).filter((d) => d.metadata?.name !== 'zenoauth-db-default-deny')
    expect(checkProduction(open, routes)).toEqual([
      'namespace zenoauth-db: no default-deny ingress NetworkPolicy',
    ])
  })

  it('an allowlisted client range inside the trusted proxy networks', () => {
    const docs = clone(rendered.production!)
    find(docs, 'SecurityPolicy', 'internal-vpn-only').spec.authorization.rules[0].principal.clientCIDRs = [
      '10.200.0.0/16',
    ]
    expect(checkProduction(docs, routes)).toEqual([
      'SecurityPolicy/zenoauth-gateways/internal-vpn-only: client range 10.200.0.0/16 overlaps the trusted proxy networks 10.0.0.0/8',
    ])
  })

  it('an always-on plane without its disruption budget', () => {
    const docs = clone(rendered.production!).filter((d) => d.kind !== 'PodDisruptionBudget')
    expect(checkProduction(docs, routes)).toEqual(
      expect.arrayContaining([
        'Service/zenoauth-auth/zenoauth-auth: no PodDisruptionBudget keeping at least one and fewer than min-scale pods',
      ]),
    )
  })

  it('egress to anywhere, a revision the route does not send to', () => {
    const docs = clone(rendered.production!)
    find(docs, 'NetworkPolicy', 'zenoauth-egress', 'zenoauth-auth').spec.egress.push({
      to: [{ ipBlock: { cidr: '0.0.0.0/0' } }],
      ports: [{ port: 443 }],
    })
    find(docs, 'Service', 'zenoauth-auth').spec.template.metadata.name = 'zenoauth-auth-v0-2-0'
    expect(checkProduction(docs, routes)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^NetworkPolicy\/zenoauth-auth\/zenoauth-egress: egress to .* is neither its pooler/,
        ),
        'HTTPRoute/zenoauth-auth/zenoauth-auth: rule auth does not send to the pinned revision zenoauth-auth-v0-2-0:80',
      ]),
    )
  })
})
