/** SQL files are embedded in the artifact as text (esbuild `text` loader, vitest transform). */
declare module '*.sql' {
  const text: string
  export default text
}
