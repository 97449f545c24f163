export { createHttpApp } from './app.js';
export { principalOf } from './authenticate.js';
