// `npm run fuzz`: the API fuzzer's long run (100,000 requests by default) with a summary.
//   FUZZ_REQUESTS  how many requests in all (default 100000)
//   FUZZ_BURST     how many of them are sent 16 at a time at the end (default 5%)
//   FUZZ_SEED      the seed (default: the CI pass's seed); the same seed sends the same requests
//   FUZZ_DEADLINE_MS  per-request deadline (default 10000)
//   FUZZ_REPORT    also write the whole summary, every failure included, as JSON to this file
// Exits 1 when a failure was found (known issues owned elsewhere are listed but do not fail).

import fs from 'node:fs';
import { formatSummary, runFuzz } from './harness.js';

const requests = Number(process.env.FUZZ_REQUESTS ?? 100_000);
const seed = Number(process.env.FUZZ_SEED ?? 20250805);
const deadlineMs = Number(process.env.FUZZ_DEADLINE_MS ?? 10_000);

const burst = Number(process.env.FUZZ_BURST ?? Math.round(requests * 0.05));

const summary = await runFuzz({ seed, requests: requests - burst, burst, deadlineMs, log: (l) => console.error(l), progressEvery: 5000, maxFailures: 1000 });
console.log(formatSummary(summary));
if (process.env.FUZZ_REPORT) fs.writeFileSync(process.env.FUZZ_REPORT, JSON.stringify(summary, null, 2));
process.exit(summary.failures.length > 0 ? 1 : 0);
