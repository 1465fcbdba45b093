import type { NextFunction, Request, Response } from 'express';

/**
 * Headers on every response. The staff app's pages get a Content-Security-Policy that allows
 * only the service's own scripts and styles (no inline script, no eval), no framing, forms that
 * post only to the service, and no caching of pages that show PHI. The API docs (/docs, Swagger
 * UI's own bundle) keep the browser defaults apart from nosniff, no framing and no referrer.
 */
export function securityHeaders(https: boolean): (req: Request, res: Response, next: NextFunction) => void {
  const csp = ["default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'", "font-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'"].join('; ');
  return (req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    if (https) res.setHeader('Strict-Transport-Security', 'max-age=31536000');
    if (!req.path.startsWith('/docs')) res.setHeader('Content-Security-Policy', csp);
    if (!req.path.startsWith('/assets/') && !req.path.startsWith('/docs')) res.setHeader('Cache-Control', 'no-store');
    next();
  };
}
