// Types for worker-bin.mjs (so TypeScript code can import it without allowJs).
export declare function mediasoupPackageDir(): string | null;
export declare function mediasoupVersion(pkgDir?: string | null): string | null;
export declare function packageWorkerPath(pkgDir?: string | null): string | null;
export declare function distroKey(): string | null;
export declare function workerCacheDir(): string;
export declare function cachedWorkerPath(version?: string | null): string | null;
export declare function workerRuns(bin: string | null | undefined): boolean;
export declare function resolveWorkerBin(): string;
export declare function ensureWorkerBinEnv(): string;
