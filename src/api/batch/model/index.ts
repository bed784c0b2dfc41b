// The vendored AWS Batch API model (AWS SDK JS v2 "min" format), typed.
//
// The JSON is imported as a module: tsc (resolveJsonModule) emits it to dist/api/batch/model/
// next to this file, and tsx/Node load it directly, so there is no copy step and no path lookup.

import rawModel from './batch-2016-08-10.min.json' with { type: 'json' };

export type ShapeType =
  | 'structure'
  | 'list'
  | 'map'
  | 'string'
  | 'integer'
  | 'long'
  | 'float'
  | 'double'
  | 'boolean'
  | 'timestamp'
  | 'blob';

/** A shape or a reference to one (`{shape: "Sxx"}`), possibly with member traits. */
export interface ShapeRef {
  shape?: string;
  /** Absent means string. */
  type?: ShapeType;
  members?: Record<string, ShapeRef>;
  required?: string[];
  member?: ShapeRef;
  key?: ShapeRef;
  value?: ShapeRef;
  location?: 'uri' | 'querystring' | 'header' | 'headers' | 'statusCode';
  locationName?: string;
  deprecated?: boolean;
  deprecatedMessage?: string;
}

export interface ModelOperation {
  http: { method?: string; requestUri: string };
  input?: ShapeRef;
  output?: ShapeRef;
}

export interface ApiModel {
  version: string;
  metadata: Record<string, unknown>;
  operations: Record<string, ModelOperation>;
  shapes: Record<string, ShapeRef>;
}

export const batchModel: ApiModel = rawModel as unknown as ApiModel;

/** Follows `{shape: "Sxx"}` into `shapes`; traits on the reference (location, ...) are kept. */
export function resolveShape(ref: ShapeRef, model: ApiModel = batchModel): ShapeRef {
  if (ref.shape === undefined) return ref;
  const target = model.shapes[ref.shape];
  if (target === undefined) throw new Error(`API model: unknown shape ${ref.shape}`);
  const { shape: _ignored, ...traits } = ref;
  return { ...resolveShape(target, model), ...traits };
}

/** The type of a resolved shape; a shape without `type` is a string. */
export function shapeType(shape: ShapeRef): ShapeType {
  return shape.type ?? 'string';
}
