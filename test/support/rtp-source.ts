/** RTP stand-ins for browsers live with the benchmarks (server/bench); tests use the same code. */
export { encodeForRtp, freeUdpPort, speechWav, startRtpSource } from '../../server/bench/rtp-source.js';
export type { RtpSource, RtpSourceOptions } from '../../server/bench/rtp-source.js';
/** The shared test media (../shared/testdata); a clear failure, not a skip, when it is missing. */
export { testdata as testdataFile } from './testdata.js';
