export type { AzuriteHandle, AzuriteOptions } from './azurite';
export { startAzurite } from './azurite';
export type { StoredEntity, StoredValue } from './entities';
export { StoredRowError } from './entities';
export {
  cycleInstant,
  decodeKeyPart,
  encodeKeyPart,
  fromInvertedTicks,
  historyPartitionKey,
  historyRowKey,
  hourBucket,
  invertedTicks,
} from './keys';
export type { HistoryPoint, StoreErrorKind, StoreRetryOptions, TableStore, TableStoreOptions } from './tableStore';
export { classifyStoreError, createTableStore } from './tableStore';
export type { FlushStats, LatestView, MonitorStore, StoreRequestInfo, WriteStats } from './types';
export { StoreUnavailableError } from './types';
