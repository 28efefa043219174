/** The scheduled jobs of ZenoAuth. */
import { listOrganizations } from '../db/organizations.ts'
import { deleteExpiredFlowRecords, deleteExpiredTokenRecords } from '../db/revocations.ts'
import { maintainSigningKeys } from '../keys/rotation.ts'
import type { Job } from './scheduler.ts'

/** Rotates signing keys that are due, retires expired ones, drops expired deny-list rows. */
export const signingKeysJob: Job = {
  name: 'signing-keys',
  lockKey: 0x7a656e01,
  intervalMs: 60_000,
  async run(runtime) {
    const organizations = await runtime.db.withoutOrganization(listOrganizations)
    for (const org of organizations) {
      const { rotated, retired } = await maintainSigningKeys(
        runtime.db,
        runtime.config.masterKey,
        org.id,
        runtime.config.keyRotationPeriodMs,
      )
      if (rotated.length || retired.length)
        runtime.log.info({ organization: org.slug, rotated, retired }, 'signing keys maintained')
      await runtime.db.inOrganization(org.id, deleteExpiredTokenRecords)
    }
  },
}

/** Reaps expired sessions, codes, pending requests, refresh tokens and counters. */
export const reaperJob: Job = {
  name: 'reaper',
  lockKey: 0x7a656e02,
  intervalMs: 300_000,
  async run(runtime) {
    const organizations = await runtime.db.withoutOrganization(listOrganizations)
    for (const org of organizations) {
      const removed = await runtime.db.inOrganization(org.id, deleteExpiredFlowRecords)
      if (removed) runtime.log.info({ organization: org.slug, removed }, 'expired records reaped')
    }
  },
}

export const JOBS: readonly Job[] = [signingKeysJob, reaperJob]
