/** How a secret's value is hidden when shown: the password of a URL, or the whole value. */
export type SecretKind = 'url' | 'opaque';

export interface ConfigVariable {
  name: string;
  /** The value the app runs with, its default when unset; undefined when unset and optional. */
  value: string | undefined;
  /** Neither the TASKER_CONFIG_PATH file nor the environment set it. */
  defaulted: boolean;
  secret: SecretKind | false;
}

/**
 * Notes every variable a parse reads and the value it settles on, so tasker-ctl can write and
 * show the configuration by variable name. With `secretsAtRunTime`, a missing required secret is
 * not a problem: images are built without secrets, which the environment supplies at run time.
 */
export class ConfigRecorder {
  private readonly seen = new Map<string, ConfigVariable>();

  constructor(readonly secretsAtRunTime = false) {}

  record(variable: ConfigVariable): void {
    this.seen.set(variable.name, variable);
  }

  /** In the order they were first read. */
  variables(): ConfigVariable[] {
    return [...this.seen.values()];
  }
}
