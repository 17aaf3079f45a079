/** The one pg-boss queue of the bench, shared by its worker processes and the bench. */
export const PG_BOSS_QUEUE = 'bench';

/** A single job has a key; a chain link also its place `i` of `n`. */
export interface PgBossBenchJob {
  key: string;
  i?: number;
  n?: number;
}
