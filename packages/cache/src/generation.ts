/**
 * The namespace generation: `<run_id of the server that wrote it>:<random>`, verified once per connection.
 * A server restarted empty has none; one restarted from an older snapshot (RDB/AOF) or a promoted replica has one
 * written by another run_id. Either way every entry stored before is invalid, and a new generation says so in O(1).
 * The check and the bump are one script (lua/ensure-generation.lua), so replicas reconnecting at once agree: the
 * first bumps, the others read its value (one bump per boot).
 */
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '@crm/redis';
import { luaScript } from './lua';

const ENSURE_GENERATION = luaScript('ensure-generation');

type EnsureCommand = (key: string, suffix: string) => Promise<string>;

/** A check's answer: the generation, and whether it differs from the one known before; or Redis did not answer. */
export type GenerationCheck = { state: 'verified'; value: string; changed: boolean } | { state: 'unavailable' };

/**
 * This process's view of the namespace generation. It is verified against the server once per connection (and
 * again whenever a lookup reads another value): until then, the cache serves nothing.
 */
export class Generation {
  private current: string | null = null;
  /** The last generation verified, kept across resets: a different one after an outage means a bump. */
  private lastKnown: string | null = null;
  private checking: { epoch: number; answer: Promise<string | undefined> } | null = null;
  /** Bumped by reset(), so a check that started before a reset does not verify the old connection's answer. */
  private epoch = 0;

  constructor(private readonly redis: RedisClient, readonly key: string) {
    redis.defineCommand('crmEnsureGeneration', { numberOfKeys: 1, lua: ENSURE_GENERATION });
  }

  /** The verified generation, or null while it must be checked (after a (re)connection). */
  get value(): string | null {
    return this.current;
  }

  /** Forgets the verified generation (the connection dropped, a master failed over): the next use checks again. */
  reset(): void {
    this.current = null;
    this.epoch++;
  }

  /**
   * Verifies the generation with the server (once, shared by concurrent callers). Resolves with it and whether it
   * differs from the one known before (then everything stored before is a miss already), or unavailable when
   * Redis did not answer.
   */
  async ensure(): Promise<GenerationCheck> {
    if (this.current !== null) return { state: 'verified', value: this.current, changed: false };
    const epoch = this.epoch;
    // A check sent before the last reset may be answered by the server that went away: never reuse it.
    if (this.checking?.epoch !== epoch) {
      const checking = { epoch, answer: this.check() };
      this.checking = checking;
      void checking.answer.finally(() => { if (this.checking === checking) this.checking = null; });
    }
    const value = await this.checking!.answer;
    if (value === undefined || epoch !== this.epoch) return { state: 'unavailable' };
    const changed = this.lastKnown !== null && this.lastKnown !== value;
    this.current = value;
    this.lastKnown = value;
    return { state: 'verified', value, changed };
  }

  private async check(): Promise<string | undefined> {
    try {
      const ensure = (this.redis as unknown as { crmEnsureGeneration: EnsureCommand }).crmEnsureGeneration;
      return await ensure.call(this.redis, this.key, randomBytes(9).toString('base64url'));
    } catch {
      return undefined;
    }
  }
}
