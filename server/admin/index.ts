/**
 * Local administration: the CLI's commands, run either against a database the CLI opens itself
 * or, while `vigil serve` holds the embedded one, by that server over its control socket.
 */
export { adminCommand, apiKeyCreate, tenantPlan, userCreate, runAdminCommand } from './commands.js';
export type { AdminCommand, AdminResult } from './commands.js';
export { startControlSocket, sendToRunningServer, controlSocketPath } from './control-socket.js';
export type { ControlSocket } from './control-socket.js';
