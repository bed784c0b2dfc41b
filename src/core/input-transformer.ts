// EventBridge target InputTransformer: InputPathsMap (variable -> JSONPath into the event) and an
// InputTemplate with <variable> placeholders, rendered into the body a target receives.
// Docs: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
// and the API reference's InputTransformer; rendering details not spelled out there follow what
// AWS was observed to deliver (recorded in LocalStack's AWS-validated snapshots):
// - inside a JSON string ("... <v> ..."): a string is inserted as string content, JSON-escaped so
//   the body stays valid JSON (the docs' "Common issues" say EventBridge does not escape it; a value
//   without quotes, backslashes or control characters comes out the same either way), a
//   number/boolean/null as its JSON text, an object or array as
//   its JSON text without the double quotes ({acc_id:0a78,sf_id:baz}, [ACTIVE,INACTIVE]);
// - outside quotes in a JSON template ({...}, [...] or "..."): the value as JSON ("x", 5, {...});
// - in a plain-text template (anything else): strings raw, other values as JSON text;
// - a path that matches nothing gives an empty string: nothing inside quotes or in plain text,
//   "" outside quotes in a JSON template.

export class InvalidInputTransformerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationException';
  }
}

export interface InputTransformer {
  InputPathsMap?: Record<string, string>;
  InputTemplate: string;
}

/** Values for the predefined variables (<aws.events.rule-arn> and friends). */
export interface InputTransformerContext {
  ruleArn?: string;
  ruleName?: string;
  /** When EventBridge received the event (ISO 8601 once rendered); defaults to the event's `time`. */
  ingestionTime?: string | Date | number;
}

/** API limits (the EventBridge model: TransformerPaths, InputTransformerPathKey, TransformerInput). */
export const MAX_INPUT_PATHS = 100;
export const MAX_INPUT_PATH_KEY_LENGTH = 256;
export const MAX_INPUT_PATH_LENGTH = 256;
export const MAX_INPUT_TEMPLATE_LENGTH = 8192;

export const PREDEFINED_VARIABLES = [
  'aws.events.rule-arn',
  'aws.events.rule-name',
  'aws.events.event.ingestion-time',
  'aws.events.event',
  'aws.events.event.json',
] as const;

const KEY = /^[A-Za-z0-9_-]+$/;
const PLACEHOLDER = /<([^<>]+)>/g;

/**
 * Checks a target's InputTransformer as PutTargets does; throws InvalidInputTransformerError
 * (a ValidationException) naming the target when `targetId` is given.
 */
export function validateInputTransformer(t: InputTransformer, targetId?: string): void {
  const target = targetId === undefined ? 'target' : `target ${targetId}`;
  const bad = (message: string): never => {
    throw new InvalidInputTransformerError(message);
  };
  if (t === null || typeof t !== 'object') bad(`InputTransformer for ${target} must be an object.`);
  const template = t.InputTemplate;
  if (typeof template !== 'string') bad(`InputTransformer for ${target} is missing InputTemplate.`);
  if (template.length < 1 || template.length > MAX_INPUT_TEMPLATE_LENGTH) {
    bad(`InputTemplate for ${target} must be between 1 and ${MAX_INPUT_TEMPLATE_LENGTH} characters long.`);
  }
  const paths = t.InputPathsMap ?? {};
  if (paths === null || typeof paths !== 'object' || Array.isArray(paths)) bad(`InputPathsMap for ${target} must be a map.`);
  const entries = Object.entries(paths);
  if (entries.length > MAX_INPUT_PATHS) bad(`InputPathsMap for ${target} has ${entries.length} entries; at most ${MAX_INPUT_PATHS} are allowed.`);
  for (const [key, path] of entries) {
    if (key.length > MAX_INPUT_PATH_KEY_LENGTH || !KEY.test(key)) {
      bad(`InputPathsMap for ${target} has an invalid key ${JSON.stringify(key)}: keys are 1 to ${MAX_INPUT_PATH_KEY_LENGTH} letters, digits, '_' or '-'.`);
    }
    if (typeof path !== 'string' || path.length > MAX_INPUT_PATH_LENGTH || parseJsonPath(path) === undefined) {
      bad(`InputPathsMap for ${target} has an invalid JSON path for key ${key}: ${JSON.stringify(path)}.`);
    }
  }
  for (const { name } of placeholders(template)) {
    if (!Object.hasOwn(paths, name) && !(PREDEFINED_VARIABLES as readonly string[]).includes(name)) {
      bad(`InputTemplate for ${target} contains invalid placeholder ${name}.`);
    }
  }
  // "If InputTemplate is a JSON object ... the placeholder cannot be used as an object key" (API
  // reference); a JSON template must still be JSON once its placeholders are filled in.
  if (template.trimStart().startsWith('{')) {
    const probe = render(template, () => ({ kind: 'probe' }));
    let parsed: unknown;
    try {
      parsed = JSON.parse(probe);
    } catch {
      bad(`InputTemplate for ${target} is not valid JSON.`);
    }
    if (hasProbeKey(parsed)) bad(`InputTemplate for ${target} uses a placeholder as an object key.`);
  }
}

/** The body the target receives: the template with its placeholders filled from `event`. */
export function applyInputTransformer(t: InputTransformer, event: unknown, context: InputTransformerContext = {}): string {
  const paths = t.InputPathsMap ?? {};
  return render(t.InputTemplate, (name) => {
    if (Object.hasOwn(paths, name)) {
      const steps = parseJsonPath(paths[name]);
      const value = steps === undefined ? undefined : selectSteps(steps, event);
      return value === undefined ? { kind: 'missing' } : { kind: 'value', value };
    }
    const predefined = predefinedValue(name, event, context);
    return predefined === undefined ? { kind: 'missing' } : { kind: 'value', value: predefined };
  });
}

function predefinedValue(name: string, event: unknown, context: InputTransformerContext): unknown {
  const e = isObject(event) ? event : {};
  switch (name) {
    case 'aws.events.rule-arn':
      return context.ruleArn ?? '';
    case 'aws.events.rule-name':
      return context.ruleName ?? '';
    case 'aws.events.event.ingestion-time': {
      const t = context.ingestionTime;
      if (t === undefined) return typeof e.time === 'string' ? e.time : '';
      // EventBridge writes times to the second ("2015-11-11T21:29:54Z", as an event's `time`).
      return typeof t === 'string' ? t : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
    case 'aws.events.event': {
      // Without `detail`; AWS delivers `detail-type` under the key `detailType` here.
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(e)) if (k !== 'detail') out[k === 'detail-type' ? 'detailType' : k] = v;
      return out;
    }
    case 'aws.events.event.json':
      return event;
    default:
      return undefined;
  }
}

type Resolved = { kind: 'value'; value: unknown } | { kind: 'missing' } | { kind: 'probe' };

// What validation puts in place of placeholders to find those used as object keys.
const PROBE_KEY = '\u0000placeholder\u0000';
const PROBE_IN_STRING = '\\u0000';

interface Placeholder {
  name: string;
  start: number;
  end: number;
  inString: boolean;
}

/** The template's <name> placeholders, each knowing whether it sits inside a JSON string. */
function placeholders(template: string): Placeholder[] {
  const found: Placeholder[] = [];
  // Where JSON strings are: a quote toggles, a backslash inside a string escapes the next character.
  const inString = new Uint8Array(template.length);
  let open = false;
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (open && c === '\\') {
      inString[i] = 1;
      if (i + 1 < template.length) inString[++i] = 1;
      continue;
    }
    if (c === '"') open = !open;
    else inString[i] = open ? 1 : 0;
  }
  for (const m of template.matchAll(PLACEHOLDER)) {
    const start = m.index ?? 0;
    found.push({ name: m[1], start, end: start + m[0].length, inString: inString[start] === 1 });
  }
  return found;
}

function render(template: string, resolve: (name: string) => Resolved): string {
  const json = /^\s*[[{"]/.test(template);
  let out = '';
  let last = 0;
  for (const p of placeholders(template)) {
    out += template.slice(last, p.start) + fill(resolve(p.name), p.inString, json);
    last = p.end;
  }
  return out + template.slice(last);
}

function fill(r: Resolved, inString: boolean, jsonTemplate: boolean): string {
  if (r.kind === 'probe') return inString ? PROBE_IN_STRING : JSON.stringify(PROBE_KEY);
  if (r.kind === 'missing') return inString || !jsonTemplate ? '' : '""';
  const v = r.value;
  if (inString) {
    if (typeof v === 'string') return JSON.stringify(v).slice(1, -1);
    if (isObject(v) || Array.isArray(v)) return JSON.stringify(v).replace(/(\\.)|"/g, (_, escaped: string | undefined) => escaped ?? '');
    return JSON.stringify(v) ?? '';
  }
  if (!jsonTemplate && typeof v === 'string') return v;
  return JSON.stringify(v) ?? '""';
}

function hasProbeKey(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasProbeKey);
  if (!isObject(v)) return false;
  return Object.entries(v).some(([k, x]) => k.includes('\u0000') || hasProbeKey(x));
}

// ---------------------------------------------------------------------------------------------
// JSONPath, the subset EventBridge supports: $, .name, ['name'], [index], .* and [*].

export type JsonPathStep = { kind: 'key'; name: string } | { kind: 'index'; index: number } | { kind: 'wildcard' };

/** The steps of a JSONPath such as `$.detail.status` or `$.resources[0]`; undefined if not valid. */
export function parseJsonPath(path: string): JsonPathStep[] | undefined {
  if (!path.startsWith('$')) return undefined;
  const steps: JsonPathStep[] = [];
  let i = 1;
  while (i < path.length) {
    if (path[i] === '.') {
      const m = /^\.(\*|[^.[\]\s]+)/.exec(path.slice(i));
      if (!m) return undefined;
      steps.push(m[1] === '*' ? { kind: 'wildcard' } : { kind: 'key', name: m[1] });
      i += m[0].length;
    } else if (path[i] === '[') {
      const m = /^\[(?:(\d+)|(\*)|'([^']*)'|"([^"]*)")\]/.exec(path.slice(i));
      if (!m) return undefined;
      if (m[1] !== undefined) steps.push({ kind: 'index', index: Number(m[1]) });
      else if (m[2] !== undefined) steps.push({ kind: 'wildcard' });
      else steps.push({ kind: 'key', name: m[3] ?? m[4] });
      i += m[0].length;
    } else {
      return undefined;
    }
  }
  return steps;
}

/**
 * The value at `path` in `value`: undefined when nothing is there (or the path is not valid);
 * with a wildcard step, the array of everything matched.
 */
export function selectJsonPath(path: string, value: unknown): unknown {
  const steps = parseJsonPath(path);
  return steps === undefined ? undefined : selectSteps(steps, value);
}

function selectSteps(steps: JsonPathStep[], root: unknown): unknown {
  let current: unknown[] = [root];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of current) {
      if (step.kind === 'key') {
        if (isObject(v) && Object.hasOwn(v, step.name)) next.push(v[step.name]);
      } else if (step.kind === 'index') {
        if (Array.isArray(v) && step.index < v.length) next.push(v[step.index]);
      } else if (Array.isArray(v)) {
        next.push(...v);
      } else if (isObject(v)) {
        next.push(...Object.values(v));
      }
    }
    current = next;
  }
  if (steps.some((s) => s.kind === 'wildcard')) return current.length === 0 ? undefined : current;
  return current[0];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
