/**
 * OpenAPI `operationId`s derived from method and path, so every operation has a stable, unique name that
 * client generators turn into method names (`listOrganisations`, `getOrganisation`, `createOrganisationMandat`).
 *
 * The rule, in order: a path ending in a parameter is one resource (`get`, `update`, `delete`, `replace` +
 * its singular); a trailing action word (`search`, `invalidate`) is the verb of the collection before it
 * (`searchPeople`); a path ending in a collection is `list`ed or `create`d into (`listPersonInteractions`);
 * anything else is the method followed by every segment (`getOrganisationsStatsLive`). Each static segment
 * followed by a parameter names one of that collection, so it is singular.
 */

/** Plurals that do not end in a plain `s`. */
const IRREGULAR_SINGULARS: Record<string, string> = { people: 'person' };

/** Trailing path words that read as the operation's verb. */
const ACTION_WORDS = new Set(['search', 'invalidate']);

const pascal = (word: string) => word.split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
const singular = (word: string) => IRREGULAR_SINGULARS[word] ?? word.replace(/s$/, '');

/** The operationId of `method` on an OpenAPI path such as `/api/v1/organisations/{id}/mandats` (base path given apart). */
export function operationIdFor(method: string, path: string, basePath = ''): string {
  const relative = basePath && path.startsWith(basePath) ? path.slice(basePath.length) : path;
  const segments = relative.split('/').filter(Boolean);
  const isParam = (s: string | undefined) => s !== undefined && /^\{.+\}$/.test(s);
  // A static segment followed by a parameter names one member of the collection.
  const words = segments.flatMap((s, i) => (isParam(s) ? [] : [isParam(segments[i + 1]) ? singular(s) : s]));
  const last = segments.at(-1);
  const beforeLast = segments.at(-2);
  const verb = method.toLowerCase();

  if (isParam(last)) {
    const verbs: Record<string, string> = { get: 'get', patch: 'update', put: 'replace', delete: 'delete' };
    return (verbs[verb] ?? verb) + words.map(pascal).join('');
  }
  if (last && ACTION_WORDS.has(last) && beforeLast && !isParam(beforeLast)) {
    return last + words.slice(0, -1).map(pascal).join('');
  }
  const isCollection = last !== undefined && (segments.length === 1 || isParam(beforeLast));
  if (isCollection && verb === 'get') return 'list' + words.map(pascal).join('');
  if (isCollection && verb === 'post') return 'create' + [...words.slice(0, -1), singular(last)].map(pascal).join('');
  return verb + words.map(pascal).join('');
}
