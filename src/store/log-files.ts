// Where job output lives on disk: one file per CloudWatch-style log stream, under
// <dataDir>/logs/<encoded group>/<encoded stream>. Executors write to these files directly
// (the attempt's stdout/stderr), so output survives a crash of the server.

import path from 'node:path';

export { DEFAULT_LOG_GROUP } from '../core/log-location.js';

/**
 * A group or stream name as one path segment: percent-encoded, and `.`/`..` (which
 * encodeURIComponent keeps, and which would name a directory: an `awslogs-group` of `..` would write
 * outside logs/) as %2E.
 */
export function encodeLogName(name: string): string {
  return /^\.+$/.test(name) ? name.replaceAll('.', '%2E') : encodeURIComponent(name);
}

export function logFilePath(dataDir: string, logGroupName: string, logStreamName: string): string {
  return path.join(dataDir, 'logs', encodeLogName(logGroupName), encodeLogName(logStreamName));
}
