import fs from 'node:fs/promises';
import { verifyBundle } from './bundle-verify.js';

const usage = 'usage: vigil bundle verify FILE';

/** `vigil bundle verify FILE`: prints what it checked; exits 1 when anything fails. */
export async function runBundleCommand(args: string[]): Promise<number> {
  const [subcommand, file, ...rest] = args;
  if (subcommand !== 'verify' || !file || rest.length > 0) {
    console.error(usage);
    return 2;
  }
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    console.error(`vigil: cannot read ${file}: ${(error as Error).message}`);
    return 1;
  }
  const result = verifyBundle(bytes);
  for (const line of result.checked) console.log(`checked  ${line}`);
  for (const line of result.problems) console.log(`FAILED   ${line}`);
  console.log(
    result.ok ? `OK: ${file} is intact` : `NOT OK: ${result.problems.length} problem(s) in ${file}`,
  );
  return result.ok ? 0 : 1;
}
