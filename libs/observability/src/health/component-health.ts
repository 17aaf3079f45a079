/**
 * One dependency a readiness probe checks. `check` resolves with details when the component is
 * usable and rejects with the reason when it is not; `detailed` asks for the costlier details
 * (queue depths, pool counts) that only /health/detailed shows.
 */
export interface ComponentHealth {
  readonly name: string;
  check(detailed: boolean): Promise<Record<string, unknown>>;
}

export const COMPONENT_HEALTH = Symbol('COMPONENT_HEALTH');
