// The redis-server `npm start` runs when none answers locally: the machine's own binary, nothing saved.
import { accessSync, constants, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ServerProcess } from './server-process.mjs';

const READY_WITHIN_MS = 20_000;

/** The redis-server on `searchPath` (a PATH value), or null. */
export function findRedisServer(searchPath = process.env.PATH ?? '') {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, 'redis-server');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

/** True when 127.0.0.1:port answers PING with PONG. */
function pong(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, timeout: 1_000 });
    let reply = '';
    const done = (ok) => { socket.destroy(); resolve(ok); };
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => { reply += chunk; if (reply.includes('\r\n')) done(reply.startsWith('+PONG')); });
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/** Runs `binary` on 127.0.0.1 (and ::1 when available) `port`, working in `dataDir`, with persistence off. */
export async function startRedis({ binary, dataDir, port }) {
  mkdirSync(dataDir, { recursive: true });
  const server = new ServerProcess('redis-server', binary, [
    '--port', String(port), '--bind', '127.0.0.1', '-::1', '--dir', dataDir, '--save', '', '--appendonly', 'no',
  ], { cwd: dataDir });
  try {
    await server.ready(() => pong(port), READY_WITHIN_MS);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { stop: () => server.stop(), pid: server.child.pid };
}
