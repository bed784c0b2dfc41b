// A stub of the AWS Batch endpoint for the client-ceiling baseline: it reads each request's body
// and answers SubmitJob with a fresh job id, doing nothing else. Run as a child process
// (StubServer in baselines.ts); it reports its endpoint over IPC.

import { randomUUID } from 'node:crypto';
import http from 'node:http';

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let jobName = 'stub';
    try {
      jobName = (JSON.parse(Buffer.concat(chunks).toString() || '{}') as { jobName?: string }).jobName ?? 'stub';
    } catch {
      // not JSON: answer anyway
    }
    const jobId = randomUUID();
    const body = JSON.stringify({ jobArn: `arn:aws:batch:us-east-1:000000000000:job/${jobId}`, jobName, jobId });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const addr = server.address() as { port: number };
  process.send?.({ endpoint: `http://127.0.0.1:${addr.port}` });
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('disconnect', () => process.exit(0));
