export { Monitor } from './monitor.js';
export type { Decision, MonitorOptions } from './monitor.js';
export { loadMonitoredSession } from './session-loader.js';
export type { MonitoredSession } from './session-loader.js';
export { watchStreamConditions } from './stream-conditions.js';
export type { StreamConditionOptions } from './stream-conditions.js';
