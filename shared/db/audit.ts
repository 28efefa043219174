/** SQL for audit_events: append-only, written in the transaction of the change it records. */
import type { Queryable } from './database.ts'

export type ActorType = 'user' | 'client' | 'system' | 'anonymous'

export interface AuditEvent {
  readonly actorType: ActorType
  readonly actorId?: string | null
  readonly action: string
  readonly targetType?: string | null
  readonly targetId?: string | null
  readonly result: 'success' | 'failure'
  readonly ip?: string | null
  readonly userAgent?: string | null
  readonly requestId?: string | null
  readonly details?: Readonly<Record<string, unknown>>
  /** When it happened, for events written later in a batch; now() otherwise. */
  readonly occurredAt?: Date
}

const COLUMNS =
  'organization_id, occurred_at, actor_type, actor_id, action, target_type, target_id, result, ip, user_agent, request_id, details'

function values(organizationId: string, e: AuditEvent): unknown[] {
  return [
    organizationId,
    e.occurredAt ?? new Date(),
    e.actorType,
    e.actorId ?? null,
    e.action,
    e.targetType ?? null,
    e.targetId ?? null,
    e.result,
    e.ip ?? null,
    e.userAgent ? e.userAgent.slice(0, 512) : null,
    e.requestId ?? null,
    e.details ?? {},
  ]
}

export async function insertAuditEvent(
  q: Queryable,
  organizationId: string,
  event: AuditEvent,
): Promise<void> {
  await q.query(
    `INSERT INTO audit_events (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
    values(organizationId, event),
  )
}

/** Inserts many events of one organization in one statement. */
export async function insertAuditEvents(
  q: Queryable,
  organizationId: string,
  events: readonly AuditEvent[],
): Promise<void> {
  if (events.length === 0) return
  const params: unknown[] = []
  const rows = events.map((e) => {
    const v = values(organizationId, e)
    const base = params.length
    params.push(...v)
    return `(${v.map((_, i) => `$${base + i + 1}`).join(', ')})`
  })
  await q.query(`INSERT INTO audit_events (${COLUMNS}) VALUES ${rows.join(', ')}`, params)
}
