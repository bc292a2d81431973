import type { Express } from 'express';
import { createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '@crm/telemetry';
import { HttpProblem } from './problem';

export interface ServeOptions {
  port: number;
  host?: string;
  logger: Logger;
  /** Closes what the service opened (ORM, Redis, queues) once in-flight requests are done. */
  onShutdown?: () => Promise<void>;
  /** How long in-flight requests may take to finish after SIGTERM. */
  drainTimeoutMs?: number;
}

/**
 * Node answers a request it cannot parse (headers or URL over its 16 kB limit, a malformed request line) by itself,
 * with an empty body, before Express sees it. This gives the client the same problem+json as every other 4xx.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const problem = error.code === 'HPE_HEADER_OVERFLOW'
      ? new HttpProblem('headers_too_large', 'The request line and headers are larger than the 16 kB the server accepts')
      : new HttpProblem('bad_request', 'The request is not valid HTTP');
    const body = JSON.stringify(problem.toJSON());
    socket.end(`HTTP/1.1 ${problem.status} ${problem.title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
}

/**
 * Listens, and on SIGTERM/SIGINT (or, under `npm start`, its parent dying) stops accepting connections, lets in-flight requests finish,
 * closes idle keep-alive sockets, then runs `onShutdown` and exits.
 */
export function serve(app: Express, options: ServeOptions): Promise<Server> {
  const server = createServer(app);
  answerClientErrors(server);
  // Longer than typical load balancer idle timeouts, so they close first and never hit a closed socket.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  let stopping = false;

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    options.logger.info({ signal }, 'shutting down: draining in-flight requests');
    const force = setTimeout(() => {
      options.logger.warn('drain timeout: closing remaining connections');
      server.closeAllConnections();
    }, options.drainTimeoutMs ?? 10_000);
    force.unref();
    server.close(async () => {
      try {
        await options.onShutdown?.();
        options.logger.info('stopped');
        process.exit(0);
      } catch (error) {
        options.logger.error({ err: error }, 'error during shutdown');
        process.exit(1);
      }
    });
    server.closeIdleConnections();
  };
  // `on`, not `once`: a Ctrl-C reaches the process group and `npm start` signals too; a second signal
  // must not kill the process mid-drain.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Started by `npm start`, which names itself in CRM_STOP_WITH_PARENT: if it dies (even by SIGKILL) we are
  // re-parented, and stop rather than run on unseen. (An IPC channel was tried: the APIs lose theirs early.)
  const parent = Number(process.env.CRM_STOP_WITH_PARENT);
  if (parent > 0) {
    const watch = setInterval(() => {
      if (process.ppid === parent) return;
      clearInterval(watch);
      // Our output went to the parent, which is gone: a line written now would fail (EPIPE), and pino's flush at
      // exit retries a failed write for ever (sonic-boom), so this process would never end. Write nothing more.
      options.logger.level = 'silent';
      // Nobody is left to stop us or read our output: never linger, even if a close hangs.
      setTimeout(() => process.exit(1), 5_000).unref();
      stop('parent exited');
    }, 250);
    watch.unref();
  }

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      options.logger.info({ port: options.port }, 'listening');
      resolve(server);
    });
  });
}
