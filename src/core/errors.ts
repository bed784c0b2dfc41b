// The catalogue of errors a client can get. AWS Batch models exactly two: ClientException (400,
// the caller's mistake; the request changed nothing) and ServerException (500, ours).
// Every rejection names the field or resource at fault; see docs/errors.md.

export type BatchErrorCode = 'ClientException' | 'ServerException';

export class BatchError extends Error {
  readonly code: BatchErrorCode;
  readonly httpStatus: number;
  constructor(code: BatchErrorCode, message: string) {
    super(message);
    this.name = code;
    this.code = code;
    this.httpStatus = code === 'ClientException' ? 400 : 500;
  }
}

/** The caller's mistake: HTTP 400, `ClientException`, nothing changed. */
export function clientError(message: string): BatchError {
  return new BatchError('ClientException', message);
}

export function isBatchError(e: unknown): e is BatchError {
  return e instanceof BatchError;
}
