/** Small helpers for reading responses in tests. */

/** The response body as a JSON object (tests then assert on its members). */
// biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary members.
export async function jsonOf(res: Response): Promise<Record<string, any>> {
  return (await res.json()) as Record<string, unknown>
}
