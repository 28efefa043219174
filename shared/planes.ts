/**
 * The four planes of DESIGN.md §1 and the path prefixes each one owns. The table lives in
 * planes.json so build.mjs, the runtime and the manifest tests read one source of truth.
 */
import PLANE_PREFIXES from './planes.json' with { type: 'json' }

export const PLANES = ['auth', 'admin', 'pim', 'break-glass'] as const
export type Plane = (typeof PLANES)[number]

const PREFIXES: readonly (readonly [string, Plane])[] = PLANES.flatMap((plane) =>
  PLANE_PREFIXES[plane].map((prefix) => [prefix, plane] as const),
).sort((a, b) => b[0].length - a[0].length)

/**
 * The plane that owns a path: the plane of the longest matching prefix, so
 * `/auth/emergency-login` belongs to break-glass although `/auth/` is auth's.
 * Returns undefined for a path no plane owns.
 */
export function planeOfPath(path: string): Plane | undefined {
  for (const [prefix, plane] of PREFIXES) {
    if (path.startsWith(prefix)) return plane
  }
  return undefined
}

export function isPlane(value: string): value is Plane {
  return (PLANES as readonly string[]).includes(value)
}

export { PLANE_PREFIXES }
