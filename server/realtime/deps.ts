import type { ServiceContext } from '../app/context.js';
import type { MediaService } from '../media/index.js';
import type { Monitor } from '../monitoring/index.js';
import type { ViolationRules } from '../proctoring/index.js';
import type { Namespaces } from './namespaces.js';
import type { Presence } from './presence.js';
import type { SessionDirectory } from './session-directory.js';

/** What the namespaces share; built once in attachRealtime(). */
export interface RealtimeDeps {
  namespaces: Namespaces;
  context: ServiceContext;
  media: MediaService;
  rules: ViolationRules;
  monitor: Monitor | undefined;
  presence: Presence;
  sessions: SessionDirectory;
}
