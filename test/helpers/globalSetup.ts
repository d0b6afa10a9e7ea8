/**
 * vitest global setup: runs in the main process before workers fork. Anything that must be in a worker's
 * environment at process start (NODE_EXTRA_CA_CERTS is read only then) is prepared here.
 */
export function setup(): void {
  // Filled in by the telemetry work: the local ingestion server's test CA.
}
