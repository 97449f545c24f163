export { MediaService, mediaLimits } from './media-service.js';
export type { ProducerInfo, ProducerRef, ProducerState } from './media-service.js';
export type { PeerIdentity, ProducerSource } from './peer.js';
export { loadMediasoup } from './load.js';
export { turnCredentials } from './turn.js';
export type { IceServer } from './turn.js';
