// CloudWatch Logs filter patterns for unstructured events, the plain-term kind: `ERROR` (the event
// contains ERROR), `ERROR Exception` (both, in any order), `"Connection refused"` (the exact
// phrase), `?ERROR ?WARN` (either), `-DEBUG` / `-"a phrase"` (must not contain). Matching is
// case-sensitive, as in CloudWatch. JSON (`{ $.x = 1 }`) and space-delimited (`[a, b]`) patterns
// are not supported: they are refused rather than matched wrongly.

export interface FilterTerm {
  text: string;
  kind: 'and' | 'or' | 'not';
}

export type LogFilter = (message: string) => boolean;

/** Parses a pattern; throws an Error whose message says what is wrong. Empty matches everything. */
export function parseFilterPattern(pattern: string): LogFilter {
  const terms: FilterTerm[] = [];
  const s = pattern.trim();
  if (s.startsWith('{') || s.startsWith('[')) {
    throw new Error('JSON and space-delimited filter patterns are not supported: use terms, "quoted phrases", ?term and -term');
  }
  let i = 0;
  while (i < s.length) {
    if (s[i] === ' ' || s[i] === '\t') {
      i++;
      continue;
    }
    let kind: FilterTerm['kind'] = 'and';
    if (s[i] === '?' || s[i] === '-') {
      kind = s[i] === '?' ? 'or' : 'not';
      i++;
    }
    let text = '';
    if (s[i] === '"') {
      i++;
      let closed = false;
      while (i < s.length) {
        if (s[i] === '\\' && i + 1 < s.length) {
          text += s[i + 1];
          i += 2;
          continue;
        }
        if (s[i] === '"') {
          closed = true;
          i++;
          break;
        }
        text += s[i++];
      }
      if (!closed) throw new Error('a quoted phrase is not closed');
    } else {
      while (i < s.length && s[i] !== ' ' && s[i] !== '\t') text += s[i++];
    }
    if (text === '') {
      if (kind === 'and') continue;
      throw new Error(`${kind === 'or' ? '?' : '-'} must be followed by a term`);
    }
    terms.push({ text, kind });
  }
  return compile(terms);
}

function compile(terms: FilterTerm[]): LogFilter {
  const and = terms.filter((t) => t.kind === 'and').map((t) => t.text);
  const or = terms.filter((t) => t.kind === 'or').map((t) => t.text);
  const not = terms.filter((t) => t.kind === 'not').map((t) => t.text);
  return (message) =>
    and.every((t) => message.includes(t)) && (or.length === 0 || or.some((t) => message.includes(t))) && !not.some((t) => message.includes(t));
}
