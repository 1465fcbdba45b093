import { Client } from 'pg';

/** A fresh, empty database on the benchmark's server for one benchmark, and how to drop (or keep) it after. */
export async function benchDatabase(serverUrl: string, label: string): Promise<{ url: string; drop(): Promise<void>; keep(): Promise<void> }> {
  const name = `hl7c_bench_${label}_${Date.now().toString(36)}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } catch (e) {
    await admin.end();
    throw e;
  }
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
    /** Leaves the database in place (for tuning) and lets go of the server. */
    async keep() {
      await admin.end();
    },
  };
}
