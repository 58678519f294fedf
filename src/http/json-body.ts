import express, { type Request, type Response } from 'express';
import { unstorableText } from './request-guards.js';

/**
 * The small JSON bodies people send (rollback requests and decisions, ticket acknowledgements and hand-offs):
 * an object of a few short strings, read with a tight size limit, each field checked with the reason named.
 */

// A request is a few short strings; anything bigger is not one.
const MAX_BODY = '16kb';
const json = express.json({ limit: MAX_BODY, type: () => true });
const MAX_TEXT = 1000;

export const text = (res: Response, status: number, message: string) =>
  res.status(status).type('text/plain').send(`${message}\n`);

/** The JSON body (an object; empty is {}), or undefined after answering 400 or 413. */
export async function readJsonObject(
  req: Request,
  res: Response,
): Promise<Record<string, unknown> | undefined> {
  const err = await new Promise<unknown>((resolve) => json(req, res, resolve));
  if (err) {
    const e = err as { status?: number; message?: string };
    if (e.status === 413) text(res, 413, `body larger than ${MAX_BODY}`);
    else text(res, 400, `invalid JSON: ${e.message}`);
    return undefined;
  }
  const b = req.body ?? {};
  if (typeof b !== 'object' || Array.isArray(b) || b === null) {
    text(res, 400, 'expected a JSON object');
    return undefined;
  }
  return b as Record<string, unknown>;
}

/** A required (or optional) non-empty string field of at most MAX_TEXT characters; a problem otherwise. */
export function stringField(
  b: Record<string, unknown>,
  name: string,
  required: boolean,
): string | { problem: string } | undefined {
  const v = b[name];
  if (v === undefined) return required ? { problem: `${name}: missing` } : undefined;
  if (typeof v !== 'string' || v.trim() === '') return { problem: `${name}: expected a non-empty string` };
  if (v.length > MAX_TEXT) return { problem: `${name}: at most ${MAX_TEXT} characters` };
  // The state store keeps neither: refused here with the reason, not as a 500 from Postgres.
  if (unstorableText(v)) return { problem: `${name}: contains a NUL character or a lone surrogate` };
  return v;
}

export const isProblem = (v: unknown): v is { problem: string } => typeof v === 'object' && v !== null;

/** The first field of the body that is not one of `allowed`, if any. */
export const unknownField = (b: Record<string, unknown>, allowed: readonly string[]) =>
  Object.keys(b).find((k) => !allowed.includes(k));

/** The `:id` path parameter as a positive whole number, or undefined after answering 400. */
export function pathId(req: Request, res: Response, what: string): number | undefined {
  const id = Number(req.params.id);
  if (!Number.isSafeInteger(id) || id < 1 || !/^\d+$/.test(String(req.params.id))) {
    text(res, 400, `'${req.params.id}' is not a ${what} id`);
    return undefined;
  }
  return id;
}
