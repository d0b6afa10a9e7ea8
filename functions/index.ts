import { app } from '@azure/functions';
import { createHandlers } from './handlers';

const { probeCycle, retention, status } = createHandlers();

// Registrations only; the handlers live in ./handlers and call into lib/.
app.timer('probeCycle', {
  schedule: '%PROBE_SCHEDULE%',
  runOnStartup: false,
  useMonitor: true,
  handler: probeCycle,
});

// Hourly: history is partitioned by hour, so each run has about one hour of every site to delete and keeps up.
app.timer('retention', {
  schedule: '0 30 * * * *',
  runOnStartup: false,
  handler: retention,
});

app.http('status', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'status',
  handler: status,
});

export { probeCycle, retention, status };
