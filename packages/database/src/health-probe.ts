import { Pool } from 'pg';

/** The probe's own budget: well inside the health handler's 1 s, so a hung server reads as down, not as a hang. */
const PROBE_TIMEOUT_MS = 800;

/**
 * One connection reserved for `/health`, outside the ORM's pool: a flood of expensive requests that holds every
 * pooled connection must not make the service look down (the database is up, only busy). Opened on the first
 * probe, reopened after a failure, closed with the ORM.
 */
export class ReservedProbe {
  private pool: Pool | null = null;

  constructor(private readonly databaseUrl: string) {}

  /** Resolves when PostgreSQL answers `select 1` on the reserved connection; rejects otherwise. */
  async check(): Promise<void> {
    if (!this.pool) {
      this.pool = new Pool({
        connectionString: this.databaseUrl,
        max: 1,
        connectionTimeoutMillis: PROBE_TIMEOUT_MS,
        statement_timeout: PROBE_TIMEOUT_MS,
        // An idle probe connection must not keep a process (or a test run) alive.
        allowExitOnIdle: true,
      });
      // A connection dropped while idle is reported here; the next probe reconnects.
      this.pool.on('error', () => undefined);
    }
    await this.pool.query('select 1');
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.end();
  }
}
