import { ConfigError } from '#core';
import type { ConfigRecorder, SecretKind } from './config-recorder.js';
import type { ConfigValues } from './config-source.js';

/**
 * Reads and validates variables, collecting every problem so one boot failure lists them all.
 * Messages name the variable and what is allowed, never the value of a secret. A recorder, when
 * given, notes each variable read and the value it settles on.
 */
export class ConfigReader {
  private readonly problems: string[] = [];

  constructor(
    private readonly values: ConfigValues,
    private readonly recorder?: ConfigRecorder,
  ) {}

  string(name: string, fallback?: string): string {
    return this.required(name, fallback, false);
  }

  optionalString(name: string): string | undefined {
    const value = this.given(name);
    this.note(name, value, value === undefined, false);
    return value;
  }

  /** A URL whose value is secret (credentials): errors never echo it. */
  secretUrl(name: string, protocols: readonly string[], fallback?: string): string {
    const value = this.required(name, fallback, 'url');
    if (!value) return value;
    try {
      const url = new URL(value);
      if (!protocols.includes(url.protocol)) {
        this.problems.push(`${name} must be a URL with scheme ${protocols.join(' or ')}`);
      }
    } catch {
      this.problems.push(`${name} is not a valid URL`);
    }
    return value;
  }

  enumValue<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.given(name);
    this.note(name, value ?? fallback, value === undefined, false);
    if (value === undefined) return fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${value}")`);
    return fallback;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.given(name);
    this.note(name, raw ?? String(fallback), raw === undefined, false);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.values[name]?.trim().toLowerCase();
    if (!raw) return fallback;
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    this.problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  }

  list(name: string): string[] {
    return this.readList(name, false);
  }

  /** A comma-separated list whose entries are secret (API keys). */
  secretList(name: string): string[] {
    return this.readList(name, 'opaque');
  }

  /** Records a problem found by a caller's own parsing (never include a secret's value). */
  report(problem: string): void {
    this.problems.push(problem);
  }

  /** Returns the parsed config, or throws one ConfigError listing every problem. */
  done<T>(config: T): T {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
    return Object.freeze(config);
  }

  private given(name: string): string | undefined {
    const value = this.values[name]?.trim();
    return value ? value : undefined;
  }

  private required(name: string, fallback: string | undefined, secret: SecretKind | false) {
    const value = this.given(name);
    this.note(name, value ?? fallback, value === undefined, secret);
    if (value !== undefined) return value;
    if (fallback !== undefined) return fallback;
    if (!(secret && this.recorder?.secretsAtRunTime)) this.problems.push(`${name} is required`);
    return '';
  }

  private readList(name: string, secret: SecretKind | false): string[] {
    const items = (this.values[name] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    this.note(name, items.length > 0 ? items.join(',') : undefined, items.length === 0, secret);
    return items;
  }

  private note(
    name: string,
    value: string | undefined,
    defaulted: boolean,
    secret: SecretKind | false,
  ): void {
    this.recorder?.record({ name, value, defaulted, secret });
  }
}
