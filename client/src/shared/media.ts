/**
 * mediasoup-client helpers shared by both pages: a fresh Device per (re)connection, server
 * transport options mapped to mediasoup's types, and the DTLS `connect` wiring.
 */
import { Device, type types } from 'mediasoup-client';
import type { TransportOptions } from './protocol.js';

export type { types as ms } from 'mediasoup-client';

/**
 * A Device can be loaded only once and the router may change after a media-server restart, so
 * each (re)connection builds a new one; it is cheap.
 */
export async function loadDevice(routerRtpCapabilities: unknown): Promise<Device> {
  const device = new Device();
  await device.load({ routerRtpCapabilities: routerRtpCapabilities as types.RtpCapabilities });
  return device;
}

/** The server's transport options are typed loosely on the wire; mediasoup-client validates them. */
export function transportOptions(data: TransportOptions): types.TransportOptions {
  return {
    id: data.id,
    iceParameters: data.iceParameters as types.IceParameters,
    iceCandidates: data.iceCandidates as types.IceCandidate[],
    dtlsParameters: data.dtlsParameters as types.DtlsParameters,
  };
}

/** Forward the transport's DTLS handshake parameters to the server once, on first use. */
export function onConnect(
  transport: types.Transport,
  send: (dtlsParameters: types.DtlsParameters) => Promise<unknown>,
): void {
  transport.on('connect', ({ dtlsParameters }, callback, errback) => {
    send(dtlsParameters).then(() => callback(), errback);
  });
}

/** The device's codec with this MIME type (e.g. `video/VP8`), if the router offers it. */
export function findCodec(device: Device, mimeType: string): types.RtpCodecCapability | undefined {
  const wanted = mimeType.toLowerCase();
  return device.rtpCapabilities.codecs?.find((c) => c.mimeType.toLowerCase() === wanted);
}

/**
 * Two simulcast layers: a ~320x240 low layer the dashboard grid can use and the full 640x480.
 * Bitrates are modest because the server samples frames at 1-10 fps for analysis.
 */
export const CAMERA_ENCODINGS: types.RtpEncodingParameters[] = [
  { scaleResolutionDownBy: 2, maxBitrate: 150_000 },
  { scaleResolutionDownBy: 1, maxBitrate: 500_000 },
];

export const CAMERA_CONSTRAINTS: MediaTrackConstraints = {
  width: { ideal: 640 },
  height: { ideal: 480 },
  frameRate: { ideal: 24, max: 30 },
};

export const MIC_CONSTRAINTS: MediaTrackConstraints = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
};
