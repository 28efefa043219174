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
    text(e.actorId),
    e.action,
    text(e.targetType),
    text(e.targetId),
    e.result,
    e.ip ?? null,
    text(e.userAgent?.slice(0, 512)),
    text(e.requestId),
    jsonText(e.details ?? {}),
  ]
}

/**
 * PostgreSQL's text and jsonb hold no NUL character, and a request can carry one (a form's
 * client_id of `%00…`, a Basic credential): an event would fail its insert, or its whole
 * batch, on it. It is kept instead, with U+FFFD in the NUL's place.
 */
const text = (value: string | null | undefined): string | null =>
  value == null ? null : value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value

const withoutNul = (_key: string, value: unknown): unknown =>
  typeof value === 'string' ? text(value) : value

/** `value` as JSON, NULs replaced (see text); a JSON escape is the only way one shows there. */
const jsonText = (value: unknown): string => {
  const encoded = JSON.stringify(value)
  return encoded.includes('\\u0000') ? JSON.stringify(value, withoutNul) : encoded
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

/**
 * One event as a row of insertAuditEvents's batch: a JSON object in one flat string. A buffer
 * of these holds each event in one allocation instead of an object graph (the event, its
 * details, its Date), which matters for events that wait up to a second in the heap.
 */
export function encodeAuditEvent(e: AuditEvent): string {
  const row = {
    occurred_at: (e.occurredAt ?? new Date()).toISOString(),
    actor_type: e.actorType,
    actor_id: e.actorId ?? null,
    action: e.action,
    target_type: e.targetType ?? null,
    target_id: e.targetId ?? null,
    result: e.result,
    ip: e.ip ?? null,
    user_agent: e.userAgent ? e.userAgent.slice(0, 512) : null,
    request_id: e.requestId ?? null,
    details: e.details ?? {},
  }
  // NULs replaced (see text), or the whole batch would fail on this one event.
  return jsonText(row)
}

/**
 * Inserts many events of one organization (each encoded by encodeAuditEvent) in one statement
 * whose only parameter is the batch as JSON: one parameter however many events (a 1,000-event
 * batch as ordinary parameters would be 12,000 of them).
 */
export async function insertAuditEvents(
  q: Queryable,
  organizationId: string,
  encoded: readonly string[],
): Promise<void> {
  if (encoded.length === 0) return
  await q.query(
    `INSERT INTO audit_events (${COLUMNS})
     SELECT $1, e.occurred_at, e.actor_type, e.actor_id, e.action, e.target_type, e.target_id, e.result, e.ip,
            e.user_agent, e.request_id, coalesce(e.details, '{}'::jsonb)
       FROM jsonb_to_recordset($2::jsonb) AS e(occurred_at timestamptz, actor_type text, actor_id text, action text,
            target_type text, target_id text, result text, ip inet, user_agent text, request_id text, details jsonb)`,
    [organizationId, `[${encoded.join(',')}]`],
  )
}
