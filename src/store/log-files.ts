// Where job output lives on disk: one file per CloudWatch-style log stream, under
// <dataDir>/logs/<encoded group>/<encoded stream>. Executors write to these files directly
// (the attempt's stdout/stderr), so output survives a crash of the server.

import path from 'node:path';

export { DEFAULT_LOG_GROUP } from '../core/log-location.js';

export function logFilePath(dataDir: string, logGroupName: string, logStreamName: string): string {
  return path.join(dataDir, 'logs', encodeURIComponent(logGroupName), encodeURIComponent(logStreamName));
}
