const { findChromium, mayInstallChromium } = require('./test/chromium.cjs');

const preset = require('../jest.preset.cjs');
// No Chromium and not CI (where it may be installed): leave the browser tests out, and say so once.
const browserTests = findChromium() !== null || mayInstallChromium();
if (!browserTests) {
  process.stderr.write('system-tests: browser tests skipped: no Chromium (install it with `apt-get install chromium`, or set CHROMIUM_PATH)\n');
}

module.exports = {
  ...preset,
  testPathIgnorePatterns: ['/node_modules/', ...(browserTests ? [] : ['/test/browser\\.test\\.ts$'])],
  // After cluster.test.ts stops its Redis Cluster, BullMQ 6.7's cluster recovery (RedisConnection
  // .connectClusterWithTimeout) may have reconnected a closing worker's blocking connection; that Cluster then
  // refreshes its slots every second for good and jest never exits (seen in a CI run: every test passed, then a
  // hang). The services exit explicitly after shutting down, and so does this run.
  forceExit: true,
};
