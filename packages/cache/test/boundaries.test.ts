import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

// The core knows nothing of Express or of the CRM's HTTP layer: only the adapter (src/express/, `@crm/cache/express`) does.
const SRC = join(__dirname, '..', 'src');
const FORBIDDEN = ['express', '@crm/http'];

/** Every .ts file under `dir`, recursively. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The modules a file imports or requires (type-only imports included), by specifier. */
function importsOf(source: string): string[] {
  const specifiers = [
    ...source.matchAll(/\b(?:import|export)\s[^'";]*?\sfrom\s*['"]([^'"]+)['"]/g),
    ...source.matchAll(/\bimport\s*['"]([^'"]+)['"]/g),
    ...source.matchAll(/\b(?:require|import)\s*\(\s*['"]([^'"]+)['"]\s*\)/g),
  ];
  return specifiers.map((m) => m[1]!);
}

const imports = (specifier: string, name: string) => specifier === name || specifier.startsWith(`${name}/`);

it('no file of the cache core (src/ outside src/express/) imports express or @crm/http', () => {
  const core = sources(SRC).filter((file) => !relative(SRC, file).startsWith(`express/`));
  expect(core.length).toBeGreaterThan(10);
  const offending = core.flatMap((file) =>
    importsOf(readFileSync(file, 'utf8'))
      .filter((specifier) => FORBIDDEN.some((name) => imports(specifier, name)))
      .map((specifier) => `${relative(SRC, file)} imports ${specifier}`));
  expect(offending).toEqual([]);
});

it('the check sees what it looks for: the adapter does import both', () => {
  const adapter = sources(join(SRC, 'express')).flatMap((file) => importsOf(readFileSync(file, 'utf8')));
  for (const name of FORBIDDEN) expect(adapter.some((specifier) => imports(specifier, name))).toBe(true);
});
