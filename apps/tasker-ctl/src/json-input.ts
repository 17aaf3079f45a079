import { readFileSync } from 'node:fs';
import type { JsonValue } from '#client';
import { errorMessage } from '#core';
import { CliError } from './cli.error.js';
import { ExitCode } from './exit-codes.js';

/**
 * A JSON option (`--context`, `--result`): inline JSON, `@file`, or `@-` for stdin. No JSON text
 * starts with `@`, so the forms cannot be confused. Unreadable input or invalid JSON is a usage
 * error (2) naming the option.
 */
export function readJsonOption(option: string, value: string): JsonValue {
  let text = value;
  if (value.startsWith('@')) {
    const file = value.slice(1);
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (err) {
      throw new CliError(ExitCode.Usage, `${option}: cannot read ${file}: ${errorMessage(err)}`);
    }
  }
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    throw new CliError(ExitCode.Usage, `${option} is not valid JSON: ${errorMessage(err)}`);
  }
}

/** {@link readJsonOption} for an option that must hold a JSON object, like a task context. */
export function readJsonObjectOption(option: string, value: string): Record<string, unknown> {
  const parsed = readJsonOption(option, value);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CliError(ExitCode.Usage, `${option} must be a JSON object, like {"n": 3}`);
  }
  return parsed;
}
