/**
 * How every benchmark's process runs its main: whatever happens (done, failed, Ctrl-C or a SIGTERM sent to
 * this process alone, exit), the load stops and no server it started (services, redis-server) is left running.
 */
import { killAllNow, stopAll } from './children';
import { stopLoad } from './load';
import { killRedisServersNow } from './redis';

/** Runs `main`, then stops the child processes; on failure prints `<name> failed: <stack>` and exits 1. */
export function runBenchmark(name: string, main: () => Promise<void>): void {
  process.once('exit', () => { killAllNow(); killRedisServersNow(); });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write('\ninterrupted: stopping the servers\n');
      stopLoad();
      void stopAll().finally(() => { killRedisServersNow(); process.exit(130); });
    });
  }
  main()
    .then(() => stopAll())
    .catch(async (error: unknown) => {
      process.stderr.write(`${name} failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      stopLoad();
      await stopAll();
      process.exitCode = 1;
    });
}
