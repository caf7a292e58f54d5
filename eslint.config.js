import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'data/',
      'src/db/generated/',
      '.tap/',
      'coverage/',
      'bench/.work/',
      'client/schema.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    // the layers (README, "Code map"): nothing below the HTTP layer knows of it or of Fastify
    files: [
      'src/services/**',
      'src/db/**',
      'src/providers/**',
      'src/crypto/**',
      'src/webhooks/**',
      'src/scheduler/**',
      'src/schemas/**',
      'src/urls/**',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/http/**', '**/app.js'], message: 'the HTTP layer calls services, never the reverse' },
            { group: ['fastify', 'fastify-plugin', '@fastify/*'], message: 'Fastify belongs to src/http/' },
          ],
        },
      ],
    },
  },
  {
    files: ['scripts/**', 'bench/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
)
