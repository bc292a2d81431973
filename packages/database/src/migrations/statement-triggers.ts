/**
 * SQL for a summary table kept exact by STATEMENT-level triggers with transition tables: one upsert per statement
 * (per key it touches), however many rows the statement wrote, in the writer's own transaction. A row trigger
 * would upsert the same hot row once per row; a statement trigger folds a 100,000-row COPY into one upsert a key.
 */
export interface MaintainedSummary {
  /** Prefix of the trigger and function names, e.g. `organisation_list_count`. */
  name: string;
  /** The table whose writes it follows. */
  table: string;
  /** A SELECT over the rows of `rows` (a transition table or the table itself), each contributing with sign `sign` (SQL). */
  deltas: (rows: string, sign: string) => string;
  /** The statement that adds the rows selected by `deltas` (a subquery) to the summary. */
  apply: (deltas: string) => string;
  /** The statement that empties what the summary holds for `table` (run when `table` is truncated). */
  clear: string;
}

/**
 * Spreads each key over this many rows (the writer's backend pid picks one), so concurrent writers rarely wait on
 * one row lock; a read sums the shards.
 */
export const SHARDS = 16;
export const SHARD = `(pg_backend_pid() % ${SHARDS})::smallint`;

const EVENTS = [
  { event: 'insert', referencing: 'new table as new_rows', deltas: (m: MaintainedSummary) => m.deltas('new_rows', '1') },
  { event: 'delete', referencing: 'old table as old_rows', deltas: (m: MaintainedSummary) => m.deltas('old_rows', '-1') },
  {
    event: 'update', referencing: 'old table as old_rows new table as new_rows',
    deltas: (m: MaintainedSummary) => `${m.deltas('new_rows', '1')} union all ${m.deltas('old_rows', '-1')}`,
  },
] as const;

const fn = (name: string, body: string) =>
  `create or replace function ${name}() returns trigger language plpgsql as $body$ begin ${body}; return null; end $body$;`;

/** The functions and triggers that keep the summary exact, then the backfill from the rows already there. */
export function maintainSummary(m: MaintainedSummary): string[] {
  const statements: string[] = [];
  for (const e of EVENTS) {
    const name = `${m.name}_${e.event}`;
    statements.push(fn(name, m.apply(e.deltas(m))));
    // Transition tables allow one event per trigger, hence three.
    statements.push(`create trigger ${name} after ${e.event} on ${m.table} referencing ${e.referencing} for each statement execute function ${name}();`);
  }
  statements.push(fn(`${m.name}_truncate`, m.clear));
  statements.push(`create trigger ${m.name}_truncate after truncate on ${m.table} for each statement execute function ${m.name}_truncate();`);
  // The triggers exist before the backfill, and creating them locked out writers until this transaction ends.
  statements.push(`${m.clear};`, `${m.apply(m.deltas(m.table, '1'))};`);
  return statements;
}

/** Drops what maintainSummary created. */
export function dropSummary(m: MaintainedSummary): string[] {
  return [...EVENTS.map((e) => e.event), 'truncate'].flatMap((event) => [
    `drop trigger if exists ${m.name}_${event} on ${m.table};`,
    `drop function if exists ${m.name}_${event}();`,
  ]);
}
