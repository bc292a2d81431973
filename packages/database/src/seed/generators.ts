import { INTERACTION_TYPES, MANDAT_STATUSES, MANDAT_TYPES, ORGANISATION_CATEGORIES } from '../entities/enums';
import { createRng, cumulative, mixSeed, type Rng } from './random';
import * as W from './words';

/** The tables the seeder fills, in the order parents come before children. */
export type SeedTable = 'organisation' | 'produit' | 'person' | 'mandat' | 'interaction';

/** How to pick a parent id: a contiguous range this batch inserts, or the ids already in the table. */
export type IdPool = { first: number; size: number } | { ids: Int32Array };

/** What every generator shares: the seed (part of emails, so two seeds never collide) and the reference instant. */
export interface GeneratorContext {
  seed: number;
  nowMs: number;
}

/** One table's rows as COPY text lines (no trailing newline), by id. */
export interface RowGenerator {
  table: SeedTable;
  columns: readonly string[];
  row(id: number): string;
}

const DAY_MS = 86_400_000;
const YEAR_MS = 365.25 * DAY_MS;
const NULL = '\\N';

/** A value in COPY's text format: null becomes \\N, and the format's special characters are escaped. */
export function copyText(value: string | null): string {
  if (value === null) return NULL;
  // Word lists never need escaping, but the check is cheap and names are not ours to trust forever.
  return /[\\\t\n\r]/.test(value)
    ? value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'))
    : value;
}

const slugCache = new Map<string, string>();
/** ASCII, lower-case, dash-separated: for e-mail local parts and host names. Cached: the lists are small, rows are many. */
function slug(value: string): string {
  let s = slugCache.get(value);
  if (s === undefined) {
    s = value
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/['’.]/g, '')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '');
    slugCache.set(value, s);
  }
  return s;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const isoDay = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);
const pick = (rng: Rng, pool: IdPool): number =>
  'ids' in pool ? (pool.ids[Math.floor(rng.next() * pool.ids.length)] as number) : pool.first + Math.floor(rng.next() * pool.size);

/** Size of a pool, whichever shape it has. */
export const poolSize = (pool: IdPool): number => ('ids' in pool ? pool.ids.length : pool.size);

const rngFor = (ctx: GeneratorContext, table: SeedTable, firstId: number): Rng =>
  // The first id is mixed in so an appended batch does not replay the first batch's values.
  createRng(mixSeed(ctx.seed, [...table].reduce((h, c) => Math.imul(h, 31) + c.charCodeAt(0), 7), firstId));

const CATEGORY_WEIGHTS = cumulative([15, 15, 35, 25, 10]); // institution, wholesale, advisor, corporate, other
const COUNTRY_WEIGHTS = cumulative(W.COUNTRY_WEIGHTS);
const MANDAT_TYPE_WEIGHTS = cumulative([50, 30, 20]); // distribution, advisory, management
const MANDAT_STATUS_WEIGHTS = cumulative([15, 55, 30]); // pending, active, terminated
const INTERACTION_TYPE_WEIGHTS = cumulative([30, 35, 20, 15]); // call, email, meeting, note
const ISIN_COUNTRIES = ['FR', 'LU', 'IE', 'DE', 'GB', 'US'] as const;
const ISIN_COUNTRY_WEIGHTS = cumulative([45, 30, 12, 5, 5, 3]);
const LOG_MIN_REVENUE = Math.log(100_000);
const LOG_MAX_REVENUE = Math.log(50_000_000_000);

function phone(rng: Rng): string {
  const prefix = W.PHONE_PREFIXES[rng.weighted(W.COUNTRIES, COUNTRY_WEIGHTS)] ?? '+33';
  const d = () => String(rng.int(0, 99)).padStart(2, '0');
  return `${prefix} ${rng.int(1, 9)} ${d()} ${d()} ${d()} ${d()}`;
}

function organisationName(rng: Rng): string {
  // Rare on purpose: enough to exercise LIKE escaping in search, not enough to skew results.
  if (rng.chance(0.004)) return rng.pick(W.WILDCARD_NAMES);
  const root = rng.pick(W.ORGANISATION_ROOTS);
  const r = rng.next();
  if (r < 0.3) return `${rng.pick(W.ORGANISATION_PREFIXES)} ${root}`;
  if (r < 0.7) return `${root} ${rng.pick(W.ORGANISATION_SUFFIXES)}`;
  if (r < 0.9) return `${root} ${rng.pick(W.ORGANISATION_SUFFIXES)} ${rng.pick(W.LEGAL_FORMS)}`;
  return rng.chance(0.5) ? `${root} & ${rng.pick(W.ORGANISATION_ROOTS)}` : `${rng.pick(W.LAST_NAMES)} & Associés`;
}

/** Organisations: names from word lists, every category, ~85% active, revenue nullable and log-distributed. */
export function organisationGenerator(ctx: GeneratorContext, firstId: number): RowGenerator {
  const rng = rngFor(ctx, 'organisation', firstId);
  return {
    table: 'organisation',
    columns: ['id', 'name', 'category', 'is_active', 'email', 'website', 'country', 'annual_revenue', 'created_at', 'updated_at'],
    row(id) {
      const name = organisationName(rng);
      const category = rng.weighted(ORGANISATION_CATEGORIES, CATEGORY_WEIGHTS);
      const active = rng.chance(0.85) ? 't' : 'f';
      const host = slug(name) || 'org';
      // The id makes e-mails unique whatever the name; the seed keeps two seeded batches apart.
      const email = rng.chance(0.8) ? `${rng.pick(['contact', 'info', 'relations', 'partenariats'])}.${id}@${host}.example-${ctx.seed}.test` : null;
      const website = rng.chance(0.7) ? `https://www.${host}.example` : null;
      const country = rng.chance(0.97) ? rng.weighted(W.COUNTRIES, COUNTRY_WEIGHTS) : null;
      let revenue: string | null = null;
      if (rng.chance(0.75)) {
        const cents = Math.round(Math.exp(LOG_MIN_REVENUE + rng.next() * (LOG_MAX_REVENUE - LOG_MIN_REVENUE)) * 100);
        revenue = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
      }
      const created = ctx.nowMs - Math.floor(rng.next() * 5 * YEAR_MS);
      const updated = created + Math.floor(rng.next() ** 3 * (ctx.nowMs - created));
      return `${id}\t${copyText(name)}\t${category}\t${active}\t${copyText(email)}\t${copyText(website)}\t${copyText(country)}\t${copyText(revenue)}\t${iso(created)}\t${iso(updated)}`;
    },
  };
}

/**
 * People: ~90% attached to an organisation of `organisations`. `personOrg[id - firstId]` receives each
 * person's organisation id (0 for none) so interactions can name the right organisation.
 */
export function personGenerator(ctx: GeneratorContext, firstId: number, organisations: IdPool, personOrg: Int32Array): RowGenerator {
  const rng = rngFor(ctx, 'person', firstId);
  const hasOrganisations = poolSize(organisations) > 0;
  return {
    table: 'person',
    columns: ['id', 'first_name', 'last_name', 'email', 'phone', 'title', 'organisation_id', 'created_at', 'updated_at'],
    row(id) {
      const first = rng.pick(W.FIRST_NAMES);
      const last = rng.pick(W.LAST_NAMES);
      let email = `${slug(first)}.${slug(last)}.${id}@example-${ctx.seed}.test`;
      // Some addresses arrive capitalised: uniqueness must hold whatever the case.
      if (rng.chance(0.03)) email = email.replace(/(^|[.@-])([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
      const tel = rng.chance(0.8) ? phone(rng) : null;
      const title = rng.chance(0.85) ? rng.pick(W.TITLES) : null;
      const org = hasOrganisations && rng.chance(0.9) ? pick(rng, organisations) : 0;
      personOrg[id - firstId] = org;
      const created = ctx.nowMs - Math.floor(rng.next() * 4 * YEAR_MS);
      const updated = created + Math.floor(rng.next() ** 3 * (ctx.nowMs - created));
      return `${id}\t${copyText(first)}\t${copyText(last)}\t${copyText(email)}\t${copyText(tel)}\t${copyText(title)}\t${org === 0 ? NULL : org}\t${iso(created)}\t${iso(updated)}`;
    },
  };
}

/** Mandats: pending ones start in the future, terminated ones ended in the past, active ones may have an end date ahead. */
export function mandatGenerator(ctx: GeneratorContext, firstId: number, organisations: IdPool): RowGenerator {
  const rng = rngFor(ctx, 'mandat', firstId);
  const today = Math.floor(ctx.nowMs / DAY_MS);
  return {
    table: 'mandat',
    columns: ['id', 'organisation_id', 'type', 'status', 'start_date', 'end_date', 'created_at', 'updated_at'],
    row(id) {
      const org = pick(rng, organisations);
      const type = rng.weighted(MANDAT_TYPES, MANDAT_TYPE_WEIGHTS);
      const status = rng.weighted(MANDAT_STATUSES, MANDAT_STATUS_WEIGHTS);
      let start: number;
      let end: number | null = null;
      if (status === 'pending') {
        start = today + rng.int(1, 180);
        if (rng.chance(0.2)) end = start + rng.int(365, 1095);
      } else if (status === 'active') {
        start = today - rng.int(0, 3650);
        if (rng.chance(0.4)) end = today + rng.int(1, 1500);
      } else {
        start = today - rng.int(60, 3650);
        end = start + rng.int(30, today - start);
      }
      const created = Math.min(start * DAY_MS, ctx.nowMs) - rng.int(0, 30) * DAY_MS - rng.int(0, 86_399) * 1000;
      const updated = created + Math.floor(rng.next() * (ctx.nowMs - created));
      return `${id}\t${org}\t${type}\t${status}\t${isoDay(start)}\t${end === null ? NULL : isoDay(end)}\t${iso(created)}\t${iso(updated)}`;
    },
  };
}

/**
 * Interactions: each with an existing person, usually with that person's organisation (null when the
 * person has none), spread over the three years before the reference instant.
 */
export function interactionGenerator(ctx: GeneratorContext, firstId: number, people: IdPool, orgOfPerson: (index: number) => number): RowGenerator {
  const rng = rngFor(ctx, 'interaction', firstId);
  const size = poolSize(people);
  return {
    table: 'interaction',
    columns: ['id', 'person_id', 'organisation_id', 'type', 'subject', 'notes', 'occurred_at', 'created_at'],
    row(id) {
      const index = Math.floor(rng.next() * size);
      const person = 'ids' in people ? (people.ids[index] as number) : people.first + index;
      const personOrg = orgOfPerson(index);
      const org = personOrg !== 0 && rng.chance(0.95) ? String(personOrg) : NULL;
      const type = rng.weighted(INTERACTION_TYPES, INTERACTION_TYPE_WEIGHTS);
      const subject = rng.pick(W.INTERACTION_SUBJECTS);
      const r = rng.next();
      const notes = r < 0.4 ? null : r < 0.85 ? rng.pick(W.INTERACTION_NOTES) : `${rng.pick(W.INTERACTION_NOTES)} ${rng.pick(W.INTERACTION_NOTES)}`;
      const occurred = ctx.nowMs - rng.int(0, Math.floor((3 * YEAR_MS) / 1000)) * 1000;
      const created = Math.min(ctx.nowMs, occurred + rng.int(0, 2 * 86_400) * 1000);
      return `${id}\t${person}\t${org}\t${type}\t${copyText(subject)}\t${copyText(notes)}\t${iso(occurred)}\t${iso(created)}`;
    },
  };
}

/** The ISIN check digit (ISO 6166): letters become 10..35, then Luhn over the digits. */
export function isinCheckDigit(first11: string): number {
  let digits = '';
  for (const c of first11) digits += c >= 'A' && c <= 'Z' ? String(c.charCodeAt(0) - 55) : c;
  let sum = 0;
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = Number(digits[i]) * (double ? 2 : 1);
    if (d > 9) d -= 9;
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

const ISIN_SPACE = 36n ** 9n;
// Odd and not a multiple of 3, hence coprime with 36^9: id -> id * M mod 36^9 is a bijection, so ISINs
// look random yet never repeat for distinct ids, whatever the seed. Near 36^9 / golden ratio so that
// consecutive ids land far apart from the very first one.
const ISIN_MULTIPLIER = 62_767_505_117_047n;

/** Produits (funds): unique valid ISINs, a category per asset class, ~90% active. */
export function produitGenerator(ctx: GeneratorContext, firstId: number): RowGenerator {
  const rng = rngFor(ctx, 'produit', firstId);
  return {
    table: 'produit',
    columns: ['id', 'name', 'isin', 'category', 'is_active', 'created_at', 'updated_at'],
    row(id) {
      const [assetClass, category] = rng.pick(W.PRODUIT_CLASSES);
      const name = `${rng.pick(W.ORGANISATION_ROOTS)} ${rng.pick(W.PRODUIT_ADJECTIVES)} ${assetClass} ${rng.pick(W.PRODUIT_SHARE_CLASSES)}`;
      const body = ((BigInt(id) * ISIN_MULTIPLIER) % ISIN_SPACE).toString(36).toUpperCase().padStart(9, '0');
      const first11 = `${rng.weighted(ISIN_COUNTRIES, ISIN_COUNTRY_WEIGHTS)}${body}`;
      const active = rng.chance(0.9) ? 't' : 'f';
      const created = ctx.nowMs - Math.floor(rng.next() * 8 * YEAR_MS);
      const updated = created + Math.floor(rng.next() ** 2 * (ctx.nowMs - created));
      return `${id}\t${copyText(name)}\t${first11}${isinCheckDigit(first11)}\t${category}\t${active}\t${iso(created)}\t${iso(updated)}`;
    },
  };
}
