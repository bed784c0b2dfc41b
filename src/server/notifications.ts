// Notification topics: what an SNS topic ARN (an EventBridge target, later a Step Functions
// `sns:publish`) delivers to on this host. They are operator configuration, read from the
// notifications file at start (--notifications-file, OPENBATCH_NOTIFICATIONS_FILE):
//
//   {"topics": {"batch-alerts": {"webhooks": ["https://hooks.example.com/T0/B0"],
//                                "commands": [["/usr/local/bin/page-oncall", "--team", "batch"]]}}}
//
// A topic is named by its name (any region and account) or by its full ARN. Commands run on this
// host, so they come only from this file: an API call can name a topic, never a command.

import fs from 'node:fs';
import type { Endpoint } from '../core/events.js';

export interface TopicConfig {
  webhooks: string[];
  commands: string[][];
}

export class Notifications {
  private constructor(private readonly topics: ReadonlyMap<string, TopicConfig>) {}

  static none(): Notifications {
    return new Notifications(new Map());
  }

  /** Reads and checks the file; throws an Error naming the file and the entry at fault. */
  static fromFile(file: string): Notifications {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(`notifications file ${file}: ${(e as Error).message}`);
    }
    try {
      return Notifications.parse(text);
    } catch (e) {
      throw new Error(`notifications file ${file}: ${(e as Error).message}`);
    }
  }

  static parse(text: string): Notifications {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new Error(`not valid JSON (${(e as Error).message})`);
    }
    if (!isObject(doc) || Object.keys(doc).some((k) => k !== 'topics') || !isObject(doc.topics)) {
      throw new Error('expected {"topics": {"<topic name or ARN>": {"webhooks": [...], "commands": [[...]]}}}');
    }
    const topics = new Map<string, TopicConfig>();
    for (const [name, value] of Object.entries(doc.topics)) {
      if (!/^[A-Za-z0-9_.:-]{1,1024}$/.test(name)) throw new Error(`topic "${name}": a topic name or SNS topic ARN`);
      if (!isObject(value) || Object.keys(value).some((k) => k !== 'webhooks' && k !== 'commands')) {
        throw new Error(`topic ${name}: expected {"webhooks": ["https://..."], "commands": [["/path/to/program", "arg"]]}`);
      }
      const webhooks = value.webhooks ?? [];
      if (!Array.isArray(webhooks) || !webhooks.every((u) => typeof u === 'string' && isHttpUrl(u))) {
        throw new Error(`topic ${name}: webhooks must be a list of http:// or https:// URLs`);
      }
      const commands = value.commands ?? [];
      if (!Array.isArray(commands) || !commands.every((c) => Array.isArray(c) && c.length > 0 && c.every((a) => typeof a === 'string') && c[0] !== '')) {
        throw new Error(`topic ${name}: commands must be a list of argument lists, e.g. [["/usr/local/bin/notify", "--channel", "ops"]] (no shell: the program and its arguments)`);
      }
      topics.set(name, { webhooks: webhooks as string[], commands: commands as string[][] });
    }
    return new Notifications(topics);
  }

  /** The topic's configuration: by full ARN first, then by name; undefined when not configured. */
  topic(topicArn: string): TopicConfig | undefined {
    return this.topics.get(topicArn) ?? this.topics.get(topicArn.slice(topicArn.lastIndexOf(':') + 1));
  }

  /** Where a message published to the topic goes; none for a topic that is not configured. */
  endpoints(topicArn: string): Endpoint[] {
    const t = this.topic(topicArn);
    if (!t) return [];
    return [...t.webhooks.map((url): Endpoint => ({ kind: 'http', url })), ...t.commands.map((command): Endpoint => ({ kind: 'command', topicArn, command }))];
  }

  /** Whether this command is configured for this topic now (checked again before each run). */
  allowsCommand(topicArn: string, command: readonly string[]): boolean {
    const t = this.topic(topicArn);
    return !!t && t.commands.some((c) => c.length === command.length && c.every((a, i) => a === command[i]));
  }

  get size(): number {
    return this.topics.size;
  }
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
