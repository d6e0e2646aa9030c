/** The telemetry collector (exported from `tranche/node`): store, HTTP handler, server. */
export { openCollector, Collector, BOOT_FAILURE_REASONS } from './Collector.js';
export type { CollectorOptions, IngestResult, SqliteDatabase, TimeWindow, TimelinePoint, VersionFigures } from './Collector.js';
export { collectorHandler, startCollector } from './handler.js';
export type { CollectorHandler, CollectorHandlerOptions, FiguresAnswer, RunningCollector, StartCollectorOptions } from './handler.js';
