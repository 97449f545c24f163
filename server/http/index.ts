export { createHttpApp } from './app.js';
export { maxConcurrentUploads, uploadMinBytesPerSecond } from './body-timeout.js';
