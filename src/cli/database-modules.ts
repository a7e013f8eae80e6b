/**
 * The database side of the TMDB tools (Slonik, pg), loaded once the arguments and the sheet have
 * been checked: a mistyped option is answered in a quarter of the time.
 */
export async function loadDatabaseModules() {
  const [{ findDatabase, withPool }, { createTmdbThresholdRepository }] = await Promise.all([
    import('./database-url.ts'),
    import('../analysis/tmdb-threshold-repository.ts'),
  ]);
  return { findDatabase, withPool, createTmdbThresholdRepository };
}
