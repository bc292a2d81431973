import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envSchema, parseEnv } from '../src/env';

/** `.env.example` at the repository root: every setting, commented out at its default. */
const example = readFileSync(join(__dirname, '..', '..', '..', '.env.example'), 'utf8');

/** The example's settings as `NAME=value` (commented out or not), in order. */
const settings = [...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=(.*)$/gm)].map(([, name, value]) => [name!, value!.trim()] as const);

describe('.env.example', () => {
  it('lists every variable of the configuration schema', () => {
    const listed = new Set(settings.map(([name]) => name));
    const missing = Object.keys(envSchema.shape).filter((name) => !listed.has(name));
    expect(missing).toEqual([]);
  });

  it('shows the defaults: uncommented as it is, it configures exactly what no configuration does', () => {
    const asIs = parseEnv(Object.fromEntries(settings));
    const defaults = parseEnv({});
    for (const name of Object.keys(envSchema.shape) as (keyof typeof defaults)[]) {
      expect([name, asIs[name]]).toEqual([name, defaults[name]]);
    }
  });

  it('lists only variables the services read (the schema, a CACHE_TTL_<PREFIX> override or OpenTelemetry)', () => {
    const unknown = settings.map(([name]) => name).filter((name) => !(name in envSchema.shape) && !/^(CACHE_TTL_|OTEL_)/.test(name));
    expect(unknown).toEqual([]);
  });
});
