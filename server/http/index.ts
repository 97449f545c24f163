export { createHttpApp } from './app.js';
