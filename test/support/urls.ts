/** A PostgreSQL URL with another database (and optionally another user). */
export function withDatabase(
  url: string,
  database: string,
  user?: { name: string; password: string },
): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  if (user) {
    u.username = user.name
    u.password = encodeURIComponent(user.password)
  }
  return u.href
}
