export { createHttpApp } from './app.js';
export { principalOf } from './authenticate.js';
export { toAppError } from './errors.js';
