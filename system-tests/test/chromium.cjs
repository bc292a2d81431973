// Where the browser tests find Chromium, and whether they may install it: shared by jest.config.cjs (which
// leaves the browser tests out when they cannot run) and browser.ts. Plain CommonJS for the jest config.
'use strict';
const { accessSync, constants } = require('node:fs');

/** Where Debian's package puts the launcher. `CHROMIUM_PATH` points elsewhere (another distribution, macOS). */
const DEBIAN_CHROMIUM = '/usr/bin/chromium';

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** CHROMIUM_PATH when set, else Debian's chromium when installed, else null. */
function findChromium() {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  return executable(DEBIAN_CHROMIUM) ? DEBIAN_CHROMIUM : null;
}

/**
 * Installing a system package is for CI's throwaway machines only (.ci/run sets CI=true): a developer's
 * `npm test` never runs apt-get behind their back.
 */
function mayInstallChromium() {
  return process.env.CI === 'true';
}

module.exports = { DEBIAN_CHROMIUM, executable, findChromium, mayInstallChromium };
