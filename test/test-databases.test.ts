import t from 'tap';
import pg from 'pg';
import { dropDatabase, EMBEDDED_SERVER, startTestDatabase } from './helpers/database.ts';

// The test setup itself, as it runs on an operator's server (TEST_DATABASE_URL): its role is not a
// superuser, and a superuser's backend (an autovacuum worker) may sit in the database to drop.
t.test(
  'a test database is dropped even while a superuser backend holds it for a moment',
  { skip: EMBEDDED_SERVER ? false : 'creates roles: needs the embedded superuser' },
  async (t) => {
    const db = await startTestDatabase(t);
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    t.teardown(() => admin.end());
    await admin.query(`CREATE ROLE test_db_owner LOGIN CREATEDB PASSWORD 'owner'`);
    await admin.query('CREATE DATABASE "held by a superuser" OWNER test_db_owner');

    const held = new URL(db.url);
    held.pathname = '/held by a superuser';
    const superuser = new pg.Client({ connectionString: held.toString() });
    await superuser.connect();
    const owner = new URL(db.url);
    [owner.username, owner.password] = ['test_db_owner', 'owner'];

    const started = Date.now();
    setTimeout(() => void superuser.end(), 600);
    await dropDatabase(owner.toString(), 'held by a superuser');
    t.ok(Date.now() - started >= 500, 'it waited for the superuser backend to leave');
    const { rows } = await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'held by a superuser'`);
    t.same(rows, [], 'the database is gone');

    await admin.query('CREATE DATABASE "other error" OWNER test_db_owner');
    const elsewhere = new URL(db.url);
    elsewhere.pathname = '/other error';
    const stranger = new pg.Client({ connectionString: elsewhere.toString() });
    await stranger.connect();
    t.teardown(() => stranger.end());
    await admin.query('ALTER DATABASE "other error" OWNER TO postgres');
    const refused = Date.now();
    await t.rejects(dropDatabase(owner.toString(), 'other error'), { code: '42501' }, 'not the owner: refused');
    t.ok(Date.now() - refused < 2_000, 'at once: only a backend it may not terminate is waited for');
  },
);
