import { ffmpegCandidates, probeFfmpeg, type FfmpegChoice } from '../../server/sampler/index.js';

/**
 * Every ffmpeg on this machine that can run the sampler (FFMPEG_PATH, or the system's and the
 * packaged one), probed as the server probes them, so sampler suites run on each. The packaged
 * @ffmpeg-installer build (2018) fails that probe, so on a machine with only Node.js there is none:
 * the suites are then not declared and this says why; a CI leg that requires every part
 * (VIGIL_REQUIRE_SERVICES=1, the full leg with Debian's ffmpeg) fails instead.
 */
export async function samplerFfmpegs(suite: string): Promise<FfmpegChoice[]> {
  const usable: FfmpegChoice[] = [];
  const refused: string[] = [];
  for (const candidate of ffmpegCandidates()) {
    try {
      usable.push({ ...candidate, ...(await probeFfmpeg(candidate.path)) });
    } catch (error) {
      refused.push(
        `${candidate.source} ${candidate.path}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  if (usable.length === 0) {
    const why = `${suite}: no ffmpeg here can run the sampler (${refused.join('; ') || 'none found'}); install ffmpeg 4.0+ (apt-get install ffmpeg, or npm install with its optional dependencies) or set FFMPEG_PATH`;
    if (process.env.VIGIL_REQUIRE_SERVICES === '1') throw new Error(`${why}; required on this leg`);
    console.log(`${why}: not declared`);
  }
  return usable;
}
