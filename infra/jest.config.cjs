// infra/ sits one level below the root, not two like packages/* and services/*:
// the preset's reporter path would miss, so point it at the root scripts/ from here.
const preset = require('../jest.preset.cjs');

module.exports = {
  ...preset,
  reporters: ['default', ['<rootDir>/../scripts/jest-summary-reporter.cjs', {}]],
};
