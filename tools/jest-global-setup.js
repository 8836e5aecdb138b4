// Builds dist/ once before the unit project: end-to-end tests start the real homeserver
// process from the build output, exactly as `npm start` does.
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

module.exports = async function globalSetup() {
  execFileSync(process.execPath, [join(__dirname, 'build.mjs')], { stdio: 'inherit' });
};
