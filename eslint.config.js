// Type-aware typescript-eslint rules as errors, plus the dependency direction of docs/architecture.md:
// core and contracts stay free of I/O frameworks, and so does the HTTP client users import (it
// needs only fetch), and libs never import apps.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioPackages = [
  'pg',
  'typeorm',
  'amqplib',
  '@nestjs/*',
  '#persistence',
  '#messaging',
  '#config',
  '#observability',
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'scripts/*.mjs',
      'test/support/*.mjs',
      'libs/testing/src/*.mjs',
      // Type-checked on its own against the served OpenAPI document (openapi-contract.e2e-spec.ts).
      'test/contract/**',
      // A project of its own (examples/worker-service/tsconfig.json), built and tested by
      // test/worker-service-example.e2e-spec.ts against the package's dist/.
      'examples/**',
      'eslint.config.js',
      'jest.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      // Nest decorators and DI need classes with only a constructor; that is the framework's shape.
      '@typescript-eslint/no-extraneous-class': 'off',
      'no-console': 'error',
    },
  },
  {
    files: ['libs/core/**/*.ts', 'libs/contracts/**/*.ts', 'libs/client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ioPackages,
              message: 'core, contracts and client import no I/O frameworks (docs/architecture.md)',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['libs/**/*.ts'],
    ignores: ['libs/core/**', 'libs/contracts/**', 'libs/client/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/apps/**'], message: 'libs never import apps' }] },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', 'test/**/*.ts'],
    rules: {
      // Asymmetric matchers (expect.any(Date)) are typed `any` by @types/jest.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
);
