// Headless Chromium for the browser tests: Debian's `chromium` package driven by playwright-core
// (no browser download from Playwright's CDN).
import { spawn } from 'node:child_process';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

// Shared with jest.config.cjs, which leaves these tests out when Chromium is absent outside CI.
const { DEBIAN_CHROMIUM, executable, mayInstallChromium } = require('./chromium.cjs') as {
  DEBIAN_CHROMIUM: string;
  executable: (file: string) => boolean;
  mayInstallChromium: () => boolean;
};

/** Runs a command, resolving with its status and output (never rejecting: the caller reports). */
function run(command: string, args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.on('error', (error) => resolve({ status: null, output: `${output}${error.message}` }));
    child.on('close', (status) => resolve({ status, output }));
  });
}

/**
 * Installs Debian's chromium. CI runs as root on a fresh Debian machine: install first (the package lists
 * may be fresh enough), and refresh them only if that fails. Waits for the dpkg lock rather than failing
 * when another apt-get runs.
 */
async function installChromium(): Promise<void> {
  process.stderr.write(`browser tests: ${DEBIAN_CHROMIUM} is missing; installing Debian's chromium with apt-get (CI=true)\n`);
  const apt = (...args: string[]) => run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', '-y', '-qq', ...args]);
  const install = () => apt('install', '--no-install-recommends', 'chromium');
  let result = await install();
  if (result.status !== 0) {
    const update = await apt('update');
    result = update.status === 0 ? await install() : update;
  }
  if (result.status !== 0 || !executable(DEBIAN_CHROMIUM)) {
    throw new Error(`chromium is missing and could not be installed with apt-get (status ${result.status}):\n${result.output}`);
  }
}

/** The Chromium executable: `CHROMIUM_PATH`, else Debian's, installed with apt-get when missing and in CI. */
export async function chromiumExecutable(): Promise<string> {
  const wanted = process.env.CHROMIUM_PATH;
  if (wanted) {
    if (!executable(wanted)) throw new Error(`CHROMIUM_PATH=${wanted} is not an executable file`);
    return wanted;
  }
  if (executable(DEBIAN_CHROMIUM)) return DEBIAN_CHROMIUM;
  if (!mayInstallChromium()) {
    throw new Error(`the browser tests need Chromium: ${DEBIAN_CHROMIUM} is missing; install it (\`apt-get install chromium\`) or set CHROMIUM_PATH (only CI, CI=true, installs it itself)`);
  }
  if (process.platform !== 'linux' || !executable('/usr/bin/apt-get')) {
    throw new Error(`the browser tests need Chromium: ${DEBIAN_CHROMIUM} is missing and there is no apt-get to install it; set CHROMIUM_PATH to a Chromium or Chrome executable`);
  }
  if (process.getuid?.() !== 0) {
    throw new Error(`the browser tests need Chromium: ${DEBIAN_CHROMIUM} is missing, and installing it needs root; run \`sudo apt-get install chromium\` or set CHROMIUM_PATH`);
  }
  await installChromium();
  return DEBIAN_CHROMIUM;
}

/** Launches headless Chromium (installing it first if need be). `--no-sandbox`: CI runs as root. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: await chromiumExecutable(), headless: true, args: ['--no-sandbox'] });
}

/** What went wrong on a page: uncaught errors, console errors, failed requests and HTTP errors. */
export interface PageProblems {
  pageErrors: string[];
  consoleErrors: string[];
  failedRequests: string[];
  httpErrors: string[];
}

export interface RecordedPage {
  page: Page;
  context: BrowserContext;
  /** The problems so far, leaving out the refused requests to other hosts and their console errors. */
  problems: () => PageProblems;
  /** Requests to other hosts the page made (refused). */
  external: string[];
  close: () => Promise<void>;
}

/**
 * A page in a fresh context (no cookies) that records its problems. Requests never leave 127.0.0.1: those to
 * other hosts (e.g. Bull Board's web fonts) are refused, so the tests do not depend on the network, and
 * they are listed in `external` rather than counted as problems.
 */
export async function openPage(browser: Browser): Promise<RecordedPage> {
  const context = await browser.newContext();
  const external: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1') return route.continue();
    external.push(url.href);
    return route.abort('blockedbyclient');
  });
  const pageErrors: string[] = [];
  const consoleErrors: { text: string; url: string }[] = [];
  const failedRequests: { url: string; error: string }[] = [];
  const httpErrors: string[] = [];
  const page = await context.newPage();
  // Fail with Playwright's own message (what it waited for) well before jest's 30 s test timeout.
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (error) => pageErrors.push(error.stack ?? error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push({ text: message.text(), url: message.location().url });
  });
  page.on('requestfailed', (request) => failedRequests.push({ url: request.url(), error: request.failure()?.errorText ?? '' }));
  page.on('response', (response) => {
    if (response.status() >= 400) httpErrors.push(`${response.status()} ${response.url()}`);
  });
  return {
    page, context, external,
    problems: () => ({
      pageErrors: [...pageErrors],
      consoleErrors: consoleErrors.filter((e) => !external.includes(e.url)).map((e) => `${e.text} (at ${e.url})`),
      failedRequests: failedRequests.filter((r) => !external.includes(r.url)).map((r) => `${r.url}: ${r.error}`),
      httpErrors: [...httpErrors],
    }),
    close: () => context.close(),
  };
}

/** No problem at all. */
export const NO_PROBLEMS: PageProblems = { pageErrors: [], consoleErrors: [], failedRequests: [], httpErrors: [] };
