import { insertTaskRows, useDatabasePool } from '#testing';

/**
 * Transition rows are history: the one change allowed is retiring the current one
 * (most_recent true → false, nothing else). Checked per column from the catalog, so a column
 * added later that the trigger does not cover fails here.
 */
describe('transition rows are append-only', () => {
  const db = useDatabasePool();

  /** An expression that changes `column` of type `type` (null included). */
  const changed = (column: string, type: string): string => {
    switch (type) {
      case 'uuid':
        return `tasker.uuid_generate_v7()`;
      case 'text':
        return `coalesce(${column}, '') || 'x'`;
      case 'jsonb':
        return `'{"rewritten": true}'::jsonb`;
      case 'integer':
        return `${column} + 1000`;
      case 'timestamp with time zone':
        return `${column} - interval '1 second'`;
      default:
        throw new Error(`no rewrite for ${column} of type ${type}`);
    }
  };

  it.each([
    ['task_transitions', 'task_uuid'],
    ['workflow_step_transitions', 'workflow_step_uuid'],
  ])('%s: retiring is allowed, any other change to any column is refused', async (table, key) => {
    const { taskUuid, stepUuids } = await insertTaskRows(db.pool, {
      namespace: `append_only_${table}`,
      taskState: 'steps_in_process',
      steps: [{ name: 'a', state: 'enqueued' }],
    });
    const id = table === 'task_transitions' ? taskUuid : stepUuids.a!;
    const { rows: columns } = await db.pool.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns
        WHERE table_schema = 'tasker' AND table_name = $1 AND column_name <> 'most_recent'
        ORDER BY ordinal_position`,
      [table],
    );
    expect(columns.length).toBeGreaterThanOrEqual(8);
    const refusals: string[] = [];
    for (const { column_name: column, data_type: type } of columns) {
      // Alone, and together with a retire: neither may change history.
      for (const retire of [false, true]) {
        const set = `${column} = ${changed(column, type)}${retire ? ', most_recent = false' : ''}`;
        const error = await db.pool
          .query(`UPDATE tasker.${table} SET ${set} WHERE ${key} = $1 AND most_recent`, [id])
          .then(
            () => null,
            (err: { code?: string }) => err.code,
          );
        if (error !== '23001') refusals.push(`${set}: ${error ?? 'allowed'}`);
      }
    }
    expect(refusals).toEqual([]);

    const retire = await db.pool.query(
      `UPDATE tasker.${table} SET most_recent = false WHERE ${key} = $1 AND most_recent`,
      [id],
    );
    expect(retire.rowCount).toBe(1);
    await expect(
      db.pool.query(`UPDATE tasker.${table} SET most_recent = true WHERE ${key} = $1`, [id]),
    ).rejects.toMatchObject({ code: '23001', message: expect.stringMatching(/append-only/) });
  });
});
