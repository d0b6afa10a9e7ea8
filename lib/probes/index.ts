/** The probe layer's public API: contracts, the layered probe, and each phase on its own. */
export * from './types';
export * from './result';
export * from './layered';
export * from './dns';
export * from './privateLink';
export * from './addresses';
export * from './ntp';
export * from './tcp';
export * from './proxy';
export * from './tls';
export * from './http';
export * from './certificates';
export * from './roots';
export * from './trust';
export * from './routes';
export * from './hostsFile';
