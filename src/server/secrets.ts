// Job secrets (containerProperties.secrets: [{name, valueFrom}]) cannot be fetched from AWS Secrets
// Manager or SSM here, so OpenBatch reads them from a local file, <dataDir>/secrets.json, a JSON
// object from `valueFrom` (the ARN or name as written in the job definition) to the value.
// A job whose secret is not there fails to start with AWS's reason instead of running without it.

import fs from 'node:fs';
import path from 'node:path';

export type SecretResolution = { ok: true; environment: Record<string, string> } | { ok: false; reason: string };

export class SecretStore {
  private cache?: { mtimeMs: number; values: Record<string, string> };

  constructor(readonly file: string) {}

  static inDataDir(dataDir: string): SecretStore {
    return new SecretStore(path.join(dataDir, 'secrets.json'));
  }

  private load(): Record<string, string> | string {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(this.file);
    } catch {
      return `${this.file} does not exist`;
    }
    if (this.cache?.mtimeMs === stat.mtimeMs) return this.cache.values;
    try {
      const values = JSON.parse(fs.readFileSync(this.file, 'utf8')) as unknown;
      if (!values || typeof values !== 'object' || Array.isArray(values)) return `${this.file} is not a JSON object`;
      const strings = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
      this.cache = { mtimeMs: stat.mtimeMs, values: strings };
      return strings;
    } catch (e) {
      return `${this.file} is not valid JSON (${(e as Error).message})`;
    }
  }

  resolve(secrets: { name: string; valueFrom: string }[] | undefined): SecretResolution {
    if (!secrets?.length) return { ok: true, environment: {} };
    const values = this.load();
    const environment: Record<string, string> = {};
    for (const s of secrets) {
      const value = typeof values === 'string' ? undefined : values[s.valueFrom];
      if (value === undefined) {
        const why = typeof values === 'string' ? values : `it has no entry for ${s.valueFrom}`;
        return {
          ok: false,
          reason: `ResourceInitializationError: unable to pull secrets or registry auth: secret ${s.name} (${s.valueFrom}) not found: ${why}`,
        };
      }
      environment[s.name] = value;
    }
    return { ok: true, environment };
  }
}
