'use strict';
// Cold-start child: what the Functions worker does on a fresh instance — load the bundled app, then run the first
// probeCycle invocation. Plain JavaScript on purpose: no TypeScript loader in the measured path.
const { probeCycle } = require('../../dist/functions/index.js');

const noop = () => undefined;
const context = { log: noop, warn: noop, error: noop, info: noop, debug: noop, trace: noop, invocationId: 'cold' };
const now = new Date().toISOString();
probeCycle(
  { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: now, next: now, lastUpdated: now } },
  context,
)
  .then(() => process.exit(0))
  .catch((err) => {
    process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
    process.exit(1);
  });
