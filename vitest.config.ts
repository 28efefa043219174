import { defineConfig } from 'vitest/config'

export default defineConfig({
  plugins: [
    {
      // Migrations are embedded as text, as esbuild's `text` loader does for the artifact.
      name: 'sql-as-text',
      transform(code, id) {
        return id.endsWith('.sql') ? { code: `export default ${JSON.stringify(code)}`, map: null } : undefined
      },
    },
  ],
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
})
