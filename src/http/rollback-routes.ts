import type { Express, Request, Response } from 'express';
import type { RollbackService } from '../actions/rollbacks/rollback-service.js';
import {
  type Actor,
  type Outcome,
  ROLLBACK_STATES,
  type RollbackState,
} from '../actions/rollbacks/rollbacks.js';
import type { StoreService } from '../actions/store/service.js';
import { allow } from './app.js';
import { Security } from './auth/security.js';
import { isProblem, pathId, readJsonObject, stringField, text } from './json-body.js';
import { unavailable } from './webhook.js';

/**
 * /api/v1/rollbacks: open, approve, reject and read rollback requests (docs/rollbacks.md). Opening and deciding
 * are an approver's (`Authorization: Bearer <approver token>`); reading is a viewer's (approvers are viewers).
 * Authentication is the security guard's (src/http/auth/security.ts): 401 without a usable credential, 403 for
 * one that may not.
 */

/** The approver a guard let through. */
function caller(res: Response): Actor {
  return Security.principal(res).approver as Actor;
}

function answer(res: Response, out: Outcome, okStatus = 200): void {
  if (out.ok) res.status(okStatus).json(out.request);
  else text(res, out.status, out.reason);
}

const idOf = (req: Request, res: Response) => pathId(req, res, 'rollback request');

export function rollbackRoutes(state: StoreService, rollbacks: RollbackService, security: Security) {
  return (app: Express) => {
    app.all(
      '/api/v1/rollbacks',
      allow(['GET', 'HEAD', 'POST']),
      (req: Request, res: Response, next: () => void) =>
        security.guard(req.method === 'POST' ? 'approver' : 'viewer')(req, res, next),
      async (req: Request, res: Response) => {
        if (unavailable(res, state)) return;
        if (req.method !== 'POST') {
          const s = typeof req.query.state === 'string' ? req.query.state : undefined;
          if (s !== undefined && !(ROLLBACK_STATES as readonly string[]).includes(s)) {
            text(res, 400, `state must be one of ${ROLLBACK_STATES.join(', ')}, not '${s}'`);
            return;
          }
          const list = await rollbacks.log.list({
            state: s as RollbackState | undefined,
            limit: 1000,
            now: rollbacks.now(),
          });
          res.json({ rollbacks: list });
          return;
        }
        const b = await readJsonObject(req, res);
        if (!b) return;
        const unknown = Object.keys(b).filter((k) => !['model', 'to_version', 'reason'].includes(k));
        const model = stringField(b, 'model', true);
        const toVersion = stringField(b, 'to_version', true);
        const reason = stringField(b, 'reason', true);
        const problem = [model, toVersion, reason].find(isProblem);
        if (unknown.length > 0) {
          text(res, 400, `${unknown[0]}: unknown field; a request is {model, to_version, reason}`);
          return;
        }
        if (problem) {
          text(res, 400, `${problem.problem}; a request is {model, to_version, reason}`);
          return;
        }
        if (!rollbacks.hasRollback(model as string)) {
          text(
            res,
            400,
            `model: '${model}' has no rollback config; add a rollback block (webhook) to the model in the config`,
          );
          return;
        }
        const out = await rollbacks.request(
          caller(res),
          model as string,
          toVersion as string,
          reason as string,
        );
        if (out.ok) res.location(`/api/v1/rollbacks/${out.request.id}`);
        answer(res, out, 201);
      },
    );
    app.all(
      '/api/v1/rollbacks/:id',
      allow(['GET', 'HEAD']),
      security.guard('viewer'),
      async (req: Request, res: Response) => {
        if (unavailable(res, state)) return;
        const id = idOf(req, res);
        if (id === undefined) return;
        const r = await rollbacks.log.get(id, rollbacks.now());
        if (!r) text(res, 404, `no rollback request ${id}`);
        else res.json(r);
      },
    );
    for (const decision of ['approve', 'reject'] as const) {
      app.all(
        `/api/v1/rollbacks/:id/${decision}`,
        allow(['POST']),
        security.guard('approver'),
        async (req: Request, res: Response) => {
          if (unavailable(res, state)) return;
          const id = idOf(req, res);
          if (id === undefined) return;
          const b = await readJsonObject(req, res);
          if (!b) return;
          const unknown = Object.keys(b).filter((k) => k !== 'comment');
          const comment = stringField(b, 'comment', false);
          if (unknown.length > 0) {
            text(res, 400, `${unknown[0]}: unknown field; the body is empty or {comment}`);
            return;
          }
          if (isProblem(comment)) {
            text(res, 400, comment.problem);
            return;
          }
          answer(res, await rollbacks.decide(id, caller(res), decision, comment));
        },
      );
    }
  };
}
