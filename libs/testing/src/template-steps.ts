import { DEFAULT_RETRY_POLICY, type StepKind, type StepTemplate } from '#core';

/** A template step for tests of graph rules: a kind, its parents, every other setting default. */
export function templateStep(name: string, kind: StepKind, ...dependsOn: string[]): StepTemplate {
  return {
    name,
    handler: `h.${name}`,
    dependsOn,
    retryable: true,
    retry: DEFAULT_RETRY_POLICY,
    timeoutSeconds: 30,
    inputs: {},
    kind,
  };
}
