// The Batch API routing table, derived from the vendored model: for each operation its HTTP
// method (POST unless the model says otherwise) and request URI, plus the input members that
// travel in the URI or the query string (the HTTP layer merges them into the input).
//
// Every operation except the tag ones is `POST /v1/<lowercased name>`; the tag operations are
// `GET|POST|DELETE /v1/tags/{resourceArn}` (ListTagsForResource, TagResource, UntagResource),
// with UntagResource's `tagKeys` as a repeated query parameter (`?tagKeys=a&tagKeys=b`).

import { batchModel, resolveShape, shapeType } from './model/index.js';

export interface HttpBinding {
  /** The input member it fills, e.g. `resourceArn`. */
  member: string;
  /** The name on the wire: the `{label}` in the URI or the query parameter name. */
  name: string;
  /** True for list members (a repeated query parameter). */
  list: boolean;
}

export interface OperationRoute {
  operation: string;
  method: string;
  /** As in the model, e.g. `/v1/submitjob` or `/v1/tags/{resourceArn}`. */
  requestUri: string;
  uriParams: readonly HttpBinding[];
  queryParams: readonly HttpBinding[];
}

function buildRoutes(): OperationRoute[] {
  const routes: OperationRoute[] = [];
  for (const [operation, op] of Object.entries(batchModel.operations)) {
    const uriParams: HttpBinding[] = [];
    const queryParams: HttpBinding[] = [];
    const input = op.input ? resolveShape(op.input) : undefined;
    for (const [member, ref] of Object.entries(input?.members ?? {})) {
      const shape = resolveShape(ref);
      const binding = { member, name: shape.locationName ?? member, list: shapeType(shape) === 'list' };
      if (shape.location === 'uri') uriParams.push(binding);
      else if (shape.location === 'querystring') queryParams.push(binding);
    }
    routes.push({
      operation,
      method: (op.http.method ?? 'POST').toUpperCase(),
      requestUri: op.http.requestUri,
      uriParams,
      queryParams,
    });
  }
  return routes;
}

/** All operations of the model, in model order. */
export const OPERATIONS: readonly OperationRoute[] = Object.freeze(buildRoutes());

const byName = new Map(OPERATIONS.map((r) => [r.operation, r]));
/** Routes with a fixed path (all but the tag operations), by path. */
const byPath = new Map(OPERATIONS.filter((r) => !r.requestUri.includes('{')).map((r) => [r.requestUri, r]));

/** The path prefix of the tag operations; the HTTP server routes those itself. */
export const TAGS_PATH_PREFIX = '/v1/tags/';

export function routeForOperation(operation: string): OperationRoute | undefined {
  return byName.get(operation);
}

/**
 * The route whose fixed path is `pathname`, whatever the method (lets the server tell 404 from
 * 405). Tag operations are not matched. A single trailing slash is ignored.
 */
export function routeForPath(pathname: string): OperationRoute | undefined {
  const path = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
  return byPath.get(path);
}

/**
 * The operation name for a non-tag request, e.g. `operationForPath('POST', '/v1/submitjob')` is
 * `'SubmitJob'`; undefined when the path is unknown or the method is not the operation's.
 */
export function operationForPath(method: string, pathname: string): string | undefined {
  const route = routeForPath(pathname);
  return route && route.method === method.toUpperCase() ? route.operation : undefined;
}
