/**
 * The storage backends every integration suite runs against: embedded PGlite always, and
 * PostgreSQL + Redis when DATABASE_URL / REDIS_URL are set (CI sets them). With
 * VIGIL_REQUIRE_SERVICES=1 a missing service fails the run instead of skipping that leg.
 */
export interface Backend {
  name: 'pglite' | 'postgres';
  databaseUrl?: string;
  redisUrl?: string;
}

export function backends(): Backend[] {
  const list: Backend[] = [{ name: 'pglite' }];
  const databaseUrl = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  if (databaseUrl) {
    list.push({ name: 'postgres', databaseUrl, ...(redisUrl ? { redisUrl } : {}) });
  } else if (process.env.VIGIL_REQUIRE_SERVICES === '1') {
    throw new Error(
      'VIGIL_REQUIRE_SERVICES=1 but DATABASE_URL is not set: the PostgreSQL leg would be skipped',
    );
  }
  if (process.env.VIGIL_REQUIRE_SERVICES === '1' && !redisUrl) {
    throw new Error('VIGIL_REQUIRE_SERVICES=1 but REDIS_URL is not set: the Redis leg would be skipped');
  }
  return list;
}
