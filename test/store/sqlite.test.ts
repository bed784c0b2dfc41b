import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../../src/store/sql-store.js';
import { runStoreSuite } from './store-suite.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-store-'));
const file = path.join(dir, 'openbatch.db');

runStoreSuite('SQLite', {
  open: () => openStore({ kind: 'sqlite', path: file }),
  reopen: () => openStore({ kind: 'sqlite', path: file }),
  cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }),
});
