import type { types } from 'mediasoup';

/**
 * The SDP that tells ffmpeg what the tap consumer sends: one media section, the consumer's
 * codec (payload type, rtpmap, and its fmtp line, e.g. Opus `useinbandfec`), the address
 * ffmpeg listens on. `a=rtcp:` is stated for readers and other decoders; ffmpeg 5.1 binds
 * RTCP on `port + 1` regardless, which is why ports are leased in adjacent pairs.
 */
export function tapSdp(options: {
  kind: 'audio' | 'video';
  ip: string;
  rtpPort: number;
  rtcpPort: number;
  rtpParameters: types.RtpParameters;
}): string {
  const codec = options.rtpParameters.codecs[0];
  if (!codec) throw new Error('tap consumer has no codec');
  const [, name] = codec.mimeType.split('/');
  if (!name) throw new Error(`unexpected codec mime type ${codec.mimeType}`);
  const rtpmap =
    options.kind === 'audio'
      ? `${name}/${codec.clockRate}/${codec.channels ?? 1}`
      : `${name}/${codec.clockRate}`;
  // mediasoup types codec parameters as `any`; they are flat key=value pairs.
  const parameters = (codec.parameters ?? {}) as Record<string, string | number>;
  const fmtp = Object.entries(parameters)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(';');
  const lines = [
    'v=0',
    `o=- 0 0 IN IP4 ${options.ip}`,
    's=vigil-sampler',
    `c=IN IP4 ${options.ip}`,
    't=0 0',
    `m=${options.kind} ${options.rtpPort} RTP/AVP ${codec.payloadType}`,
    `a=rtcp:${options.rtcpPort}`,
    `a=rtpmap:${codec.payloadType} ${rtpmap}`,
    ...(fmtp ? [`a=fmtp:${codec.payloadType} ${fmtp}`] : []),
    'a=recvonly',
  ];
  return `${lines.join('\r\n')}\r\n`;
}
