// The awsJson protocols (1.0 and 1.1) on `POST /`: CloudWatch Logs (`Logs_20140328.<Op>`),
// EventBridge (`AWSEvents.<Op>`) and Step Functions (`AWSStepFunctions.<Op>`) all arrive there and
// are told apart by the X-Amz-Target header. Each API registers an AwsJsonService; this module
// parses, checks read-only keys and the SigV4 scope, calls the handler and answers in the shape
// the SDKs parse (`{"__type": code, "message": ...}`, HTTP 400 for client mistakes).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isBatchError } from '../core/errors.js';
import { AwsApiError, checkReadOnly, isAwsApiError, type Principal } from './auth/index.js';
import { invalidSignature } from './auth/errors.js';

export type AwsJsonHandler = (input: Record<string, unknown>, context: AwsJsonContext) => Promise<unknown>;

export interface AwsJsonContext {
  principal?: Principal;
  request: FastifyRequest;
  reply: FastifyReply;
}

export interface AwsJsonService {
  /** The X-Amz-Target prefix before the dot: `Logs_20140328`, `AWSEvents`, `AWSStepFunctions`. */
  targetPrefix: string;
  /** The SigV4 signing name of the API (`logs`, `events`, `states`). */
  signingName: string;
  /** `1.0` or `1.1`: the content type answers carry (application/x-amz-json-1.x). */
  jsonVersion: '1.0' | '1.1';
  /** The API's error code for input that is not valid (`InvalidParameterException`, `ValidationException`). */
  validationErrorCode: string;
  handlers: Record<string, AwsJsonHandler>;
  /** Operations a read-only key may call; default Describe*, List*, Get*, Filter*, Test*. */
  isRead?: (operation: string) => boolean;
}

/** An error of an awsJson API (HTTP 400 unless said otherwise), e.g. ResourceNotFoundException. */
export function awsJsonError(code: string, message: string, httpStatus = 400): AwsApiError {
  return new AwsApiError(code, httpStatus, message);
}

const defaultIsRead = (op: string) => /^(Describe|List|Get|Filter|Test)[A-Z]/.test(op);

/** Which awsJson API and operation a request names (for metrics and logs); undefined if none. */
export function awsJsonOperation(request: FastifyRequest): { service: string; operation: string } | undefined {
  const target = request.headers['x-amz-target'];
  if (typeof target !== 'string') return undefined;
  const dot = target.indexOf('.');
  if (dot < 0) return undefined;
  return { service: target.slice(0, dot), operation: target.slice(dot + 1) };
}

function send(reply: FastifyReply, contentType: string, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('content-type', contentType).send(JSON.stringify(body ?? {}));
}

function sendError(reply: FastifyReply, contentType: string, code: string, httpStatus: number, message: string, headers?: Record<string, string>): FastifyReply {
  if (headers) reply.headers(headers);
  return reply.code(httpStatus).header('x-amzn-ErrorType', code).header('content-type', contentType).send(JSON.stringify({ __type: code, message }));
}

/** Registers `POST /` for the given awsJson APIs. */
export function registerAwsJsonServices(app: FastifyInstance, services: readonly AwsJsonService[]): void {
  const byPrefix = new Map(services.map((s) => [s.targetPrefix, s]));
  app.post('/', async (request, reply) => {
    const named = awsJsonOperation(request);
    const service = named ? byPrefix.get(named.service) : undefined;
    const contentType = `application/x-amz-json-${service?.jsonVersion ?? '1.1'}`;
    if (!named || !service) {
      const target = request.headers['x-amz-target'];
      const message = typeof target === 'string' ? `Unknown operation ${target}` : 'Missing X-Amz-Target header: POST / needs one naming the operation (e.g. Logs_20140328.GetLogEvents)';
      return sendError(reply, contentType, 'UnknownOperationException', 400, message);
    }
    const handler = Object.hasOwn(service.handlers, named.operation) ? service.handlers[named.operation] : undefined;
    if (!handler) return sendError(reply, contentType, 'UnknownOperationException', 400, `Unknown operation ${named.service}.${named.operation}`);
    const principal = request.principal;
    try {
      // A key signed for batch must not drive another API (AWS scopes signatures to a service).
      if (principal && principal.service !== service.signingName) {
        throw invalidSignature('wrong_service', `Credential should be scoped to correct service: '${service.signingName}'.`);
      }
      checkReadOnly(principal, `${service.signingName}:${named.operation}`, (service.isRead ?? defaultIsRead)(named.operation));
      const input = parseJsonBody(request.body, service.validationErrorCode);
      const out = await handler(input, { principal, request, reply });
      if (reply.sent) return reply;
      return send(reply, contentType, 200, out);
    } catch (e) {
      if (isAwsApiError(e)) return sendError(reply, contentType, e.code, e.httpStatus, e.message, e.headers);
      // Shared domain code throws Batch's ClientException for bad input: the API's own code here.
      if (isBatchError(e) && e.code === 'ClientException') return sendError(reply, contentType, service.validationErrorCode, 400, e.message);
      throw e; // the app's error handler: 500 with a request id
    }
  });
}

function parseJsonBody(body: unknown, code: string): Record<string, unknown> {
  const buf = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
  if (buf.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw awsJsonError(code, `The request body is not valid JSON: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw awsJsonError(code, 'The request body must be a JSON object');
  return value as Record<string, unknown>;
}
