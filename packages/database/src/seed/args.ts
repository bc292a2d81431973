import { parseArgs } from 'node:util';

export const SEED_USAGE = `Usage: npm run seed -- --organisations N --people N --mandats N --interactions N [--produits N] [--seed N] [--reference-date YYYY-MM-DD]
       npm run seed -- --demo

  --organisations, --people, --mandats, --interactions   rows to add (default 0; at least one size or --demo)
  --produits        rows to add (default 50)
  --seed            PRNG seed, 0..4294967295 (default 1): same seed, same data
  --reference-date  dates are spread backwards from this day (default: today, UTC)
  --demo            load the small demo set, only if there are no organisations yet
  --help            show this text
`;

/** What the command line asks for. */
export type SeedCommand =
  | { kind: 'help' }
  | { kind: 'demo' }
  | {
    kind: 'seed';
    organisations: number; people: number; mandats: number; interactions: number; produits: number;
    seed: number; referenceDate?: Date;
  };

/** A command line the seeder refuses; the CLI prints the message with the usage and exits with code 2. */
export class SeedUsageError extends Error {
  override readonly name = 'SeedUsageError';
}

const SIZE_FLAGS = ['organisations', 'people', 'mandats', 'interactions', 'produits'] as const;

function integer(flag: string, value: string, max: number): number {
  // Number() would accept '1e5', '0x10' and ' 7 ': a size typed wrong should fail, not be guessed.
  if (!/^\d+$/.test(value) || Number(value) > max) {
    throw new SeedUsageError(`--${flag} must be an integer between 0 and ${max}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** Parses the seeder's arguments (without node and script). Throws SeedUsageError on anything unexpected. */
export function parseSeedArgs(argv: readonly string[]): SeedCommand {
  // pnpm forwards `--` separators literally, once per script layer (`pnpm run seed -- …` yields two).
  const args = [...argv];
  while (args[0] === '--') args.shift();
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        organisations: { type: 'string' },
        people: { type: 'string' },
        mandats: { type: 'string' },
        interactions: { type: 'string' },
        produits: { type: 'string' },
        seed: { type: 'string' },
        'reference-date': { type: 'string' },
        demo: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new SeedUsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return { kind: 'help' };

  const given = SIZE_FLAGS.filter((f) => values[f] !== undefined);
  if (values.demo) {
    const extra = [...given, ...(['seed', 'reference-date'] as const).filter((f) => values[f] !== undefined)];
    if (extra.length > 0) throw new SeedUsageError(`--demo has fixed sizes; drop ${extra.map((f) => `--${f}`).join(', ')}`);
    return { kind: 'demo' };
  }
  if (given.length === 0) throw new SeedUsageError('Nothing to seed: give at least one size, or --demo');

  const size = (flag: (typeof SIZE_FLAGS)[number], fallback: number) => {
    const raw = values[flag];
    return typeof raw === 'string' ? integer(flag, raw, 2_147_483_647) : fallback;
  };
  const command: SeedCommand = {
    kind: 'seed',
    organisations: size('organisations', 0),
    people: size('people', 0),
    mandats: size('mandats', 0),
    interactions: size('interactions', 0),
    produits: size('produits', 50),
    seed: typeof values.seed === 'string' ? integer('seed', values.seed, 0xffff_ffff) : 1,
  };
  const day = values['reference-date'];
  if (typeof day === 'string') {
    const date = new Date(`${day}T00:00:00Z`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== day) {
      throw new SeedUsageError(`--reference-date must be a date like 2025-01-31, got ${JSON.stringify(day)}`);
    }
    command.referenceDate = date;
  }
  return command;
}
