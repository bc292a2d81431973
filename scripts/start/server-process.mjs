// A server `npm start` runs for its own life (PostgreSQL, redis-server): spawned in a process group of its own,
// so a Ctrl-C reaching start.mjs's group does not stop it before the services have drained; start.mjs stops it last.
import { spawn } from 'node:child_process';
import net from 'node:net';

const TAIL_LINES = 20;
const STOP_GRACE_MS = 10_000;

/** True when something accepts a TCP connection on host:port within `timeoutMs` (a DNS failure is false). */
export function answers(host, port, timeoutMs = 1_500) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: timeoutMs });
    const done = (ok) => { socket.destroy(); resolve(ok); };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/** A child server: its last output lines (for a failure message), `ready(check)`, `stop()`. */
export class ServerProcess {
  constructor(name, command, args, options = {}) {
    this.name = name;
    this.tail = [];
    this.child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => { this.tail.push(error.message); resolve({ code: null, signal: null }); });
      this.child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    this.exitStatus = null;
    this.exited.then((status) => { this.exitStatus = status; });
    const keep = (chunk) => {
      this.tail.push(...String(chunk).split('\n').filter(Boolean));
      this.tail.splice(0, Math.max(0, this.tail.length - TAIL_LINES));
    };
    this.child.stdout.on('data', keep);
    this.child.stderr.on('data', keep);
  }

  /** Polls `check` until it is true; throws with the server's last output if it exits or `timeoutMs` passes. */
  async ready(check, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exitStatus) throw this.failure(`exited (${this.exitStatus.signal ?? `exit ${this.exitStatus.code}`})`);
      if (await check()) return;
      if (Date.now() > deadline) throw this.failure(`did not get ready within ${timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  failure(what) {
    return new Error(`${this.name} ${what}:\n  ${this.tail.join('\n  ')}`);
  }

  /** Sends `signal`, then SIGKILL if it is still running after STOP_GRACE_MS; resolves once it has exited. */
  async stop(signal = 'SIGTERM') {
    if (this.exitStatus) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }
}
