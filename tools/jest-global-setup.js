// Builds dist/ once before the unit project: end-to-end tests start the real homeserver
// process from the build output, exactly as `npm start` does. Also gives the run a
// directory where test deployments record what they made on shared Postgres, Kafka and
// Redis, for the global teardown to remove (libs/testing/src/test-resources.ts).
const { execFileSync } = require('node:child_process');
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

module.exports = async function globalSetup() {
  execFileSync(process.execPath, [join(__dirname, 'build.mjs')], { stdio: 'inherit' });
  // Workers are started after this, so they inherit the variable.
  process.env['AXON_TEST_RESOURCES_DIR'] = mkdtempSync(join(tmpdir(), 'axon-test-resources-'));
};
