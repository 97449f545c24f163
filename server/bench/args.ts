/** The benchmarks' command-line options: `--name value`, `--name=value` or `name=value`, and flags. */
export function option(argv: readonly string[], name: string): string | undefined {
  for (const [index, arg] of argv.entries()) {
    if (arg === `--${name}`) return argv[index + 1];
    if (arg.startsWith(`--${name}=`) || arg.startsWith(`${name}=`)) return arg.slice(arg.indexOf('=') + 1);
  }
  return undefined;
}

export const flag = (argv: readonly string[], name: string): boolean =>
  argv.includes(`--${name}`) || argv.includes(name);
