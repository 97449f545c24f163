/**
 * "Stream analysis is off: …" across the top of the dashboard when the server is not watching
 * the streams (no usable ffmpeg, an engine that did not load): a proctor must not take silence
 * for a clean exam. Reads the server's `/readyz`, which names the degraded part and why.
 */
interface ReadyAnalysis {
  status?: string;
  part?: string;
  reason?: string;
  fix?: string;
}

export async function showAnalysisBanner(banner: HTMLElement): Promise<void> {
  let analysis: ReadyAnalysis | undefined;
  try {
    const response = await fetch('/readyz', { cache: 'no-store' });
    analysis = ((await response.json()) as { analysis?: ReadyAnalysis }).analysis;
  } catch {
    return; // Unreachable server: the connection indicator already says so.
  }
  if (analysis?.status !== 'off') return;
  banner.textContent = `Stream analysis is off: ${analysis.reason ?? `the ${analysis.part ?? 'analysis'} did not start`}. Live video still works; no violations are detected until an administrator fixes it (${analysis.fix ?? 'run npx vigil doctor'}).`;
  banner.hidden = false;
}
