/** What kind of error PostgreSQL reported: the class of its SQLSTATE. */

/**
 * The class of a PostgreSQL error's SQLSTATE (its first two characters: '22' a data
 * exception, '23' an integrity constraint, '40' a transaction rolled back for a conflict),
 * as `pg` reports the error; undefined for anything else (a socket error, an Error of ours).
 */
export function sqlStateClass(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined
  const { code, severity } = err as { code?: unknown; severity?: unknown }
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string'
    ? code.slice(0, 2)
    : undefined
}
