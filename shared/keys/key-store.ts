/**
 * The organizations' keys, cached in-process (DESIGN.md §6): the JWKS as published, the
 * current private key per algorithm ready to sign, and every published public key by kid.
 * A NOTIFY after a rotation drops the entry cluster-wide; the TTL bounds staleness otherwise.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import type { JWK } from 'jose'
import { TtlCache } from '../cache/ttl-cache.ts'
import { openPrivateKey } from '../crypto/key-encryption.ts'
import type { Database } from '../db/database.ts'
import { findPublishedKeys, type SigningKeyRow } from '../db/signing-keys.ts'
import { Unavailable } from '../db/unavailable.ts'
import { jsonDocument, type PublicDocument } from '../http/documents.ts'
import { SIGNING_ALGS, type SigningAlg } from './generate.ts'
import { ensureSigningKeys } from './rotation.ts'

// A key is published a whole rotation period before it signs, so minutes of caching never
// hide a key that signs.
const JWKS_MAX_AGE_SECONDS = 300

export interface Signer {
  readonly kid: string
  readonly alg: SigningAlg
  readonly key: KeyObject
}

export interface Verifier {
  readonly kid: string
  readonly alg: SigningAlg
  readonly key: KeyObject
}

export interface OrganizationKeys {
  /** The JWKS document, serialized once. */
  readonly jwks: PublicDocument
  readonly signers: ReadonlyMap<SigningAlg, Signer>
  readonly verifiers: ReadonlyMap<string, Verifier>
}

export class KeyStore {
  private readonly cache: TtlCache<string, OrganizationKeys>
  private readonly db: Database
  private readonly masterKey: Buffer

  constructor(db: Database, masterKey: Buffer, ttlMs: number) {
    this.db = db
    this.masterKey = masterKey
    this.cache = new TtlCache({ ttlMs, maxEntries: 10_000 })
  }

  /**
   * The keys of an organization, creating its first ones if it has none.
   * @throws KeyDecryptionError when MASTER_KEY cannot open them; HttpError 503 when the
   *   database is unavailable.
   */
  forOrganization(organizationId: string): Promise<OrganizationKeys> {
    return this.cache.get(organizationId, () => this.load(organizationId))
  }

  /** The current signer of an algorithm. @throws Unavailable (503) when there is none. */
  async signer(organizationId: string, alg: SigningAlg): Promise<Signer> {
    const signer = (await this.forOrganization(organizationId)).signers.get(alg)
    if (!signer) throw new Unavailable(`No ${alg} signing key is available.`)
    return signer
  }

  invalidate(organizationId?: string): void {
    if (organizationId) this.cache.delete(organizationId)
    else this.cache.clear()
  }

  private async load(organizationId: string): Promise<OrganizationKeys> {
    let rows = await this.db.inOrganization(organizationId, findPublishedKeys)
    const complete = SIGNING_ALGS.every((alg) => rows.some((r) => r.alg === alg && r.state === 'current'))
    if (!complete) {
      await ensureSigningKeys(this.db, this.masterKey, organizationId)
      rows = await this.db.inOrganization(organizationId, findPublishedKeys)
    }
    return this.build(organizationId, rows)
  }

  private build(organizationId: string, rows: readonly SigningKeyRow[]): OrganizationKeys {
    const signers = new Map<SigningAlg, Signer>()
    const verifiers = new Map<string, Verifier>()
    const published: JWK[] = []
    for (const row of rows) {
      published.push(row.publicJwk)
      verifiers.set(row.kid, {
        kid: row.kid,
        alg: row.alg,
        key: createPublicKey({ key: row.publicJwk, format: 'jwk' }),
      })
      if (row.state === 'current' && row.privateKey) {
        const pkcs8 = openPrivateKey(this.masterKey, organizationId, row.kid, row.privateKey)
        signers.set(row.alg, {
          kid: row.kid,
          alg: row.alg,
          key: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }),
        })
      }
    }
    return {
      jwks: jsonDocument(JSON.stringify({ keys: published }), JWKS_MAX_AGE_SECONDS),
      signers,
      verifiers,
    }
  }
}
