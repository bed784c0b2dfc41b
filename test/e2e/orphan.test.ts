// A server started by a test exits when that test process dies (as when the runner kills a file
// that ran past its time limit), instead of running on as an orphan.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT, waitFor } from '../helpers/server.js';

const starter = `
import { TestServer } from ${JSON.stringify(path.join(ROOT, 'test/helpers/server.ts'))};
const s = await new TestServer().start();
process.stdout.write('server ' + s.child.pid + ' ' + s.dataDir + '\\n');
setInterval(() => {}, 1000);
`;

test('a test server exits when the process that started it is SIGKILLed', async () => {
  const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', starter], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  parent.stdout!.on('data', (d) => (out += d));
  const [pid, dataDir] = await waitFor('the server started', async () => {
    const m = /server (\d+) (\S+)/.exec(out);
    return m ? ([Number(m[1]), m[2]] as const) : undefined;
  }, 60_000);
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  assert.ok(alive(), 'the server runs while its parent does');
  parent.kill('SIGKILL');
  await waitFor('the orphaned server exits', async () => !alive() || undefined, 30_000, 100);
  (await import('node:fs')).rmSync(dataDir, { recursive: true, force: true });
});
