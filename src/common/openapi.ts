import type { OpenAPIObject } from '@nestjs/swagger';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** The routes anyone may call: the health checks a load balancer and monitoring poll. */
export const isPublicPath = (path: string): boolean => /^\/api\/health(\/|$)/.test(path);

interface Operation {
  security?: Record<string, string[]>[];
  responses?: Record<string, unknown>;
}

/**
 * What the decorators cannot say, added to the generated document: the licence; that the health
 * checks need no credentials (an empty security requirement); and the answers every other route
 * can give whatever it does (401 without valid credentials, 429 over the rate limit) with the
 * API's error body. test/openapi.int-spec.ts lints the result and calls every route.
 */
export function finishOpenApi(doc: OpenAPIObject): OpenAPIObject {
  doc.info.license = { name: 'UNLICENSED' };
  doc.components ??= {};
  doc.components.schemas ??= {};
  doc.components.schemas.ApiError = {
    type: 'object',
    required: ['error', 'message'],
    properties: { error: { type: 'string', example: 'rate_limited' }, message: { type: 'string' } },
  };
  const error = (description: string): unknown => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ApiError' } } } });
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = (item as Record<string, Operation | undefined>)[method];
      if (op === undefined) continue;
      if (isPublicPath(path)) {
        op.security = [];
        continue;
      }
      op.responses ??= {};
      op.responses['401'] ??= error('No valid credentials (a bearer token: API_TOKEN or a personal token)');
      op.responses['429'] ??= error('Over RATE_LIMIT_API_PER_MINUTE for this caller: see Retry-After');
    }
  }
  return doc;
}
