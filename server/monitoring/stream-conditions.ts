import type { MediaService, ProducerRef, ProducerState } from '../media/index.js';
import type { SessionContext, ViolationRules } from '../proctoring/index.js';

export interface StreamConditionOptions {
  media: MediaService;
  rules: ViolationRules;
  /** The live session a producer belongs to, if this node serves it. */
  session(sessionId: string): SessionContext | undefined;
  /** Whether the candidate's page is still connected (a page that left is connection_lost). */
  isConnected(sessionId: string): boolean;
}

/**
 * Camera and microphone conditions from the SFU's producer events: a stream that pauses, stalls
 * or closes while its page stays is `camera_off` / `mic_off`; one that (re)appears or flows again
 * ends it. Returns the unsubscribe.
 */
export function watchStreamConditions(options: StreamConditionOptions): () => void {
  const { media, rules } = options;
  const typeOf = (ref: ProducerRef) => (ref.producer.source === 'camera' ? 'camera_off' : 'mic_off');

  const onNew = (ref: ProducerRef) => {
    const session = options.session(ref.sessionId);
    if (session) rules.report(session, typeOf(ref), false);
  };
  const onState = (ref: ProducerRef & { state: ProducerState }) => {
    const session = options.session(ref.sessionId);
    if (!session) return;
    const off = ref.state === 'paused' || ref.state === 'stalled';
    rules.report(session, typeOf(ref), off, { details: { reason: ref.state } });
  };
  const onClosed = (ref: ProducerRef) => {
    const session = options.session(ref.sessionId);
    if (session && options.isConnected(ref.sessionId))
      rules.report(session, typeOf(ref), true, { details: { reason: 'closed' } });
  };

  media.on('producer:new', onNew);
  media.on('producer:state', onState);
  media.on('producer:closed', onClosed);
  return () => {
    media.off('producer:new', onNew);
    media.off('producer:state', onState);
    media.off('producer:closed', onClosed);
  };
}
