/**
 * Which candidate sessions have a page connected to this node. A session can briefly have two
 * sockets (a reconnect racing the old socket's timeout), so connections are counted.
 */
export class Presence {
  readonly #connections = new Map<string, number>();

  /** Returns true when this is the session's first live connection. */
  connect(sessionId: string): boolean {
    const count = (this.#connections.get(sessionId) ?? 0) + 1;
    this.#connections.set(sessionId, count);
    return count === 1;
  }

  /** Returns true when the session's last connection went away. */
  disconnect(sessionId: string): boolean {
    const count = (this.#connections.get(sessionId) ?? 1) - 1;
    if (count <= 0) {
      this.#connections.delete(sessionId);
      return true;
    }
    this.#connections.set(sessionId, count);
    return false;
  }

  isConnected(sessionId: string): boolean {
    return this.#connections.has(sessionId);
  }
}
