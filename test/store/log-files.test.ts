// Log files live under <dataDir>/logs/<group>/<stream>, whatever the names (they come from job
// definitions' awslogs options): never outside that directory, and two names never share a file.

import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { encodeLogName, logFilePath } from '../../src/store/log-files.js';

test('every group and stream name is one path segment inside logs/, and distinct names stay distinct', () => {
  const names = ['/aws/batch/job', '.', '..', '...', 'a.b', 'x/../..', '%2E', '%2E%2E', 'job/default/1234', ' ', 'ü'];
  const files = new Set<string>();
  for (const group of names) {
    for (const stream of names) {
      const file = logFilePath('/data', group, stream);
      assert.equal(path.dirname(path.dirname(file)), '/data/logs', `${group} ${stream} → ${file}`);
      files.add(file);
    }
  }
  assert.equal(files.size, names.length * names.length);
  for (const n of names) assert.equal(decodeURIComponent(encodeLogName(n)), n);
});
