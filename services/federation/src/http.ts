/**
 * The public HTTP surface (unauthenticated by design, security invariant 1): per trust domain
 * `/<org-id>/<td-id>/bundle`, `/jwks` and `/.well-known/openid-configuration`, names redirecting
 * to ids; `/healthz`, `/readyz`, `/metrics`. Plain node:http: every answer is a lookup in the
 * in-memory directory and a write of prepared bytes (ETag / If-None-Match, Cache-Control from
 * the refresh hint, br/gzip). Anything else is a problem+json 404 / 405 / 414.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BundleDirectory, PublishedEntry } from './directory.js';
import { ifNoneMatchHits, negotiateCoding, type Representation } from './representation.js';

/** Longest request target accepted (ids and names are short). */
export const MAX_TARGET_LENGTH = 512;

/** The documents served per trust domain, by path suffix. */
const DOCUMENTS: Readonly<Record<string, (entry: PublishedEntry) => Representation>> = {
  bundle: (entry) => entry.bundle,
  jwks: (entry) => entry.jwks,
  '.well-known/openid-configuration': (entry) => entry.discovery,
};

/** Organization ids (`t-` + 10 base36) and trust domain ids or names (DNS-like). */
const ORGANIZATION = /^t-[0-9a-z]{10}$/;
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;

/** What the non-document routes answer. */
export interface OperationalRoutes {
  healthz(): { status: number; body: string };
  readyz(): Promise<{ status: number; body: string }>;
  metrics(): Promise<{ contentType: string; body: string }>;
}

/** Counts per answer, for /metrics. */
export type RequestObserver = (route: string, status: number) => void;

function problem(response: ServerResponse, status: number, title: string, detail: string, extra: Record<string, string> = {}): void {
  const body = JSON.stringify({ type: 'about:blank', title, status, detail });
  response.writeHead(status, { 'content-type': 'application/problem+json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body), ...extra });
  response.end(body);
}

function serve(request: IncomingMessage, response: ServerResponse, representation: Representation): number {
  const common = { etag: representation.etag, 'cache-control': representation.cacheControl, vary: 'Accept-Encoding', 'access-control-allow-origin': '*' };
  if (ifNoneMatchHits(request.headers['if-none-match'], representation.etag)) {
    response.writeHead(304, common);
    response.end();
    return 304;
  }
  const coding = negotiateCoding(request.headers['accept-encoding']);
  const body = representation.bodies[coding];
  response.writeHead(200, {
    ...common,
    'content-type': representation.contentType,
    'content-length': body.length,
    ...(coding === 'identity' ? {} : { 'content-encoding': coding }),
  });
  response.end(request.method === 'HEAD' ? undefined : body);
  return 200;
}

/** Builds the request handler. */
export function publicHandler(directory: BundleDirectory, operational: OperationalRoutes, observe: RequestObserver = () => undefined) {
  return (request: IncomingMessage, response: ServerResponse): void => {
    const target = request.url ?? '/';
    if (target.length > MAX_TARGET_LENGTH) {
      observe('too-long', 414);
      return problem(response, 414, 'URI Too Long', `request targets are at most ${MAX_TARGET_LENGTH} characters`);
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      observe('method', 405);
      return problem(response, 405, 'Method Not Allowed', 'only GET and HEAD are served', { allow: 'GET, HEAD' });
    }
    const path = target.split('?')[0] ?? '/';
    if (path === '/healthz') {
      const { status, body } = operational.healthz();
      response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
      return observe('healthz', status);
    }
    if (path === '/readyz') {
      operational.readyz().then(({ status, body }) => {
        response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
        observe('readyz', status);
      }, () => problem(response, 500, 'Internal Server Error', 'readiness could not be determined'));
      return;
    }
    if (path === '/metrics') {
      operational.metrics().then(({ contentType, body }) => {
        response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body);
      }, () => problem(response, 500, 'Internal Server Error', 'metrics could not be collected'));
      return;
    }
    // /<org>/<td>/<document>; the document may itself contain a slash (.well-known/…).
    const segments = path.split('/');
    const [empty, organizationId = '', trustDomain = '', ...rest] = segments;
    const document = rest.join('/');
    const select = Object.hasOwn(DOCUMENTS, document) ? DOCUMENTS[document] : undefined;
    if (empty !== '' || !ORGANIZATION.test(organizationId) || !TRUST_DOMAIN.test(trustDomain) || select === undefined) {
      observe('unknown', 404);
      return problem(response, 404, 'Not Found', 'no such document: the public routes are /<org-id>/<trust-domain-id>/bundle, /jwks and /.well-known/openid-configuration');
    }
    const found = directory.lookup(organizationId, trustDomain);
    switch (found.kind) {
      case 'found':
        return observe(document, serve(request, response, select(found.entry)));
      case 'redirect': {
        const location = `/${organizationId}/${found.trustDomainId}/${document}`;
        response.writeHead(302, { location, 'cache-control': 'no-cache', 'content-length': 0 });
        response.end();
        return observe(document, 302);
      }
      case 'missing':
        observe(document, 404);
        return problem(response, 404, 'Not Found', 'this organization has no trust domain of that id or name with a published bundle');
    }
  };
}
