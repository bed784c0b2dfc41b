import { test } from 'node:test';
import { openStore } from '../../src/store/sql-store.js';
import { freshPostgresDatabase } from '../helpers/server.js';
import { runStoreSuite } from './store-suite.js';

const db = await freshPostgresDatabase('store');
if ('skip' in db) {
  process.stderr.write(`SKIPPING the PostgreSQL store suite: ${db.skip}\n`);
  test('store: PostgreSQL', { skip: db.skip }, () => {});
} else {
  runStoreSuite('PostgreSQL', {
    open: () => openStore({ kind: 'postgres', url: db.url }),
    reopen: () => openStore({ kind: 'postgres', url: db.url }),
    cleanup: () => db.drop(),
  });
}
