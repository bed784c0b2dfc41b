// docs/getting-started.md cannot rot: its `sh guide-test` blocks are extracted and run, in order,
// as one bash script (set -euo pipefail) against a real server on a free port. The guide's
// http://127.0.0.1:8733 becomes the test server's URL, and `npx openbatch` runs the built CLI.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CLI, ROOT, run } from '../helpers/server.js';
import { useServer } from './sdk-helpers.js';

const GUIDE = path.join(ROOT, 'docs', 'getting-started.md');
const env = useServer();

export function guideBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh guide-test\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

test("the getting-started guide's commands run as written and do what it says", { skip: fs.existsSync('/usr/bin/aws') ? false : 'SKIPPED: /usr/bin/aws is absent (apt-get install awscli): the guide uses the AWS CLI' }, async () => {
  const blocks = guideBlocks(fs.readFileSync(GUIDE, 'utf8'));
  assert.ok(blocks.length >= 7, `found ${blocks.length} tested blocks`);
  const script = blocks.join('\n').replaceAll('http://127.0.0.1:8733', env.endpoint);
  // `npx openbatch ...` as in a clone, without npm's start-up cost per call.
  const bin = path.join(env.tmp, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'npx'), `#!/bin/sh\n[ "$1" = openbatch ] || { echo "the guide may only npx openbatch" >&2; exit 99; }\nshift\nexec "${process.execPath}" "${CLI}" "$@"\n`, { mode: 0o755 });
  // A reader's shell has no profile or Batch-specific endpoint of the machine running the tests.
  const r = await run('env', ['-u', 'AWS_PROFILE', '-u', 'AWS_ENDPOINT_URL_BATCH', 'bash', '-c', `set -euo pipefail\n${script}`], { PATH: `${bin}:${process.env.PATH}`, HOME: env.tmp });
  const out = r.stdout;
  assert.equal(r.code, 0, `the guide's script failed (${r.code}):\n${r.stderr}\n--- stdout\n${out}`);
  assert.match(out, /^default\s+ENABLED\s+VALID/m, 'queues');
  assert.match(out, /^hello from [0-9a-f-]{36}$/m, 'the first job');
  assert.match(out, /SUCCEEDED 100\/100 done, 0 failed/, 'the array');
  assert.match(out, /^49$/m, 'the array child 7');
  assert.match(out, /:4\s+squares\s+default\s+SUCCEEDED\s+\S+\s+\[4\]\s*$/m, "the array's children, in their parent's queue");
  assert.match(out, /^pipeline done$/m);
  assert.match(out, /^loaded into warehouse$/m);
  assert.match(out, /^wait exited with status 1$/m);
  assert.match(out, /^cannot open input\.csv$/m);
  assert.match(out, /^FAILED\tEssential container in task exited$/m, 'the AWS CLI');
  assert.match(out, /<title>Overview · OpenBatch<\/title>/, 'the console');
});
