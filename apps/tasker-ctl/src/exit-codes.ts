/**
 * tasker-ctl's exit codes, by class, so scripts can branch on them. The README and
 * `tasker-ctl --help` list the same table (EXIT_CODES_HELP).
 */
export const ExitCode = {
  /** Done; with --wait, the task completed (or was resolved manually). */
  Ok: 0,
  /** It ran, and the outcome is a failure: a task ended in error or was cancelled, a check found
   * problems (config validate, template validate, migrate status --check), a migration failed. */
  Failed: 1,
  /** The command line is wrong: unknown command or option, bad value, unreadable input,
   * invalid JSON, or a configuration the command cannot use. */
  Usage: 2,
  /** The API or the database could not be reached, or did not answer in time. */
  Connection: 3,
  /** The API refused the request (4xx): invalid input, bad or missing API key, not found,
   * conflict. */
  ClientError: 4,
  /** The API failed (5xx, including 503 under backpressure) or answered something unreadable. */
  ServerError: 5,
  /** --wait --timeout passed before the task ended; the task goes on. */
  Timeout: 6,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODES_HELP = `
Exit codes:
  0  success (with --wait: the task completed)
  1  failed outcome: task ended error/cancelled, validation found problems, migration failed
  2  usage: bad command, option, value, input file, JSON or configuration
  3  connection: API or database unreachable, or no answer in time
  4  the API refused the request (4xx: invalid input, auth, not found, conflict)
  5  the API failed (5xx, including 503 backpressure) or answered unreadably
  6  --wait gave up at --timeout (the task goes on)`;
