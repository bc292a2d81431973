import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

// Test helpers never ship: no production file (any src/ of packages/ or services/) imports @crm/testing or a
// package's `/testing` or `/test-support` subpath, and @crm/testing is only ever a devDependency.

const ROOT = path.resolve(__dirname, '../../..');

/** A module specifier that is test-only: @crm/testing, or any `.../testing` or `.../test-support` subpath. */
const TEST_ONLY = /^(@crm\/testing(\/.*)?|@[^/]+\/[^/]+\/(testing|test-support)(\/.*)?|\.{1,2}\/.*test-support(\/.*)?)$/;
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sourceFiles(file);
    return /\.(c|m)?[jt]s$/.test(name) ? [file] : [];
  });
}

/** packages/* and services/*, with their `src` folder when they have one. */
function workspaces(): { dir: string; src: string | null }[] {
  return ['packages', 'services'].flatMap((group) => readdirSync(path.join(ROOT, group)).map((name) => {
    const dir = path.join(ROOT, group, name);
    const src = path.join(dir, 'src');
    return { dir, src: statSync(src, { throwIfNoEntry: false })?.isDirectory() ? src : null };
  }));
}

const relative = (file: string) => path.relative(ROOT, file).split(path.sep).join('/');

describe('test helpers stay out of production code', () => {
  it('no file under packages/*/src or services/*/src imports @crm/testing, a /testing or a /test-support module', () => {
    const found: string[] = [];
    for (const { src } of workspaces()) {
      for (const file of src ? sourceFiles(src) : []) {
        for (const [, specifier] of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
          if (TEST_ONLY.test(specifier!)) found.push(`${relative(file)}: ${specifier}`);
        }
      }
    }
    expect(found).toEqual([]);
  });

  it('no package lists @crm/testing under dependencies, only under devDependencies', () => {
    const manifests = [ROOT, path.join(ROOT, 'bench'), path.join(ROOT, 'infra'), path.join(ROOT, 'system-tests'), ...workspaces().map((w) => w.dir)];
    const wrong = manifests.flatMap((dir) => {
      const file = path.join(dir, 'package.json');
      if (!statSync(file, { throwIfNoEntry: false })) return [];
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string> | undefined>;
      return ['dependencies', 'optionalDependencies', 'peerDependencies']
        .filter((field) => manifest[field]?.['@crm/testing'] !== undefined)
        .map((field) => `${relative(file)}: ${field}`);
    });
    expect(wrong).toEqual([]);
  });

  it('sees the rule broken: a src import of @crm/testing or a /testing subpath is caught', () => {
    const caught = ["import { RedisServer } from '@crm/testing';", "export { x } from '@crm/database/testing';",
      "const y = require('@crm/http/test-support');", "import('../test-support/fuzz')", "import { z } from '@crm/redis';"]
      .map((line) => [...line.matchAll(SPECIFIER)].some(([, s]) => TEST_ONLY.test(s!)));
    expect(caught).toEqual([true, true, true, true, false]);
  });
});
