import { createHash } from 'node:crypto';
import { canonicalJson } from '../shared/index.js';

export const genesisHash = '0'.repeat(64);

/** What one audit entry says, before it is chained. */
export interface AuditFields {
  id: string;
  seq: number;
  at: Date;
  tenant: string;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
}

/** `sha256(prevHash + canonicalJson(entry))`: any change to a field, or to the order, changes it. */
export function entryHash(prevHash: string, fields: AuditFields): string {
  const entry = { ...fields, at: fields.at.toISOString() };
  return createHash('sha256')
    .update(prevHash + canonicalJson(entry))
    .digest('hex');
}
