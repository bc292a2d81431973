/**
 * Where two parsed JSON values differ, as paths (`name`, `contacts[0].email`, `items.length`), for the auditor's
 * log line: which fields, never their values (they are customer data, and the line must stay short).
 */

/** Up to `limit` paths where `a` and `b` differ, and how many there are in all. Nothing is ignored. */
export function jsonDiff(a: unknown, b: unknown, limit = 5): { paths: string[]; count: number } {
  const paths: string[] = [];
  let count = 0;
  const walk = (x: unknown, y: unknown, at: string): void => {
    if (Object.is(x, y)) return;
    const differ = () => {
      count++;
      if (paths.length < limit) paths.push(at || '(root)');
    };
    if (Array.isArray(x) && Array.isArray(y)) {
      if (x.length !== y.length) differ();
      for (let i = 0; i < Math.min(x.length, y.length); i++) walk(x[i], y[i], `${at}[${i}]`);
      return;
    }
    if (isObject(x) && isObject(y)) {
      for (const key of new Set([...Object.keys(x), ...Object.keys(y)])) walk(x[key], y[key], at ? `${at}.${key}` : key);
      return;
    }
    differ();
  };
  walk(a, b, '');
  return { paths, count };
}

/** The diff as one short phrase for a log line: `2 differences: name, updatedAt`. */
export function diffSummary(diff: { paths: string[]; count: number }): string {
  const more = diff.count > diff.paths.length ? `, +${diff.count - diff.paths.length} more` : '';
  return `${diff.count} difference${diff.count === 1 ? '' : 's'}: ${diff.paths.join(', ')}${more}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
