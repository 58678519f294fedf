import type { Threshold as Step } from '@grafana/grafana-foundation-sdk/dashboard';
import { parser } from '@prometheus-io/lezer-promql';
import { findAlert, type RuleSet } from './rules.js';

/**
 * Thresholds drawn on panels are read from the alert rules, so a panel turns red exactly where the alert
 * fires and the two cannot drift apart when someone edits a rule.
 */

type Node = ReturnType<typeof parser.parse>['topNode'];

const COMPARISONS: Record<string, AlertThreshold['op']> = {
  Eql: '==',
  Neq: '!=',
  Gtr: '>',
  Gte: '>=',
  Lss: '<',
  Lte: '<=',
};

export interface AlertThreshold {
  alert: string;
  /** The rule's whole expression. */
  expr: string;
  /** How long the condition must hold before the alert fires, as written in the rule ('0s' if absent). */
  for: string;
  op: '==' | '!=' | '>' | '>=' | '<' | '<=';
  /** PromQL left and right of the comparison. */
  lhs: string;
  rhs: string;
  /**
   * The number after the operator: the constant (`mlwatch_warehouse_up == 0` gives 0), or the factor when the
   * right side scales a metric (`> 3 * mlwatch_check_interval_seconds`, also inside clamp_min, gives 3).
   */
  value: number;
  kind: 'constant' | 'factor';
}

function opOf(node: Node): AlertThreshold['op'] | undefined {
  if (node.name !== 'BinaryExpr') return undefined;
  for (let c = node.firstChild; c; c = c.nextSibling) {
    const op = COMPARISONS[c.name];
    if (op) return op;
  }
  return undefined;
}

/** The outermost comparison, looking through `and`/`unless`/`or` and parentheses (left side first). */
function findComparison(node: Node): Node | undefined {
  if (opOf(node)) return node;
  for (let c = node.firstChild; c; c = c.nextSibling) {
    const found = findComparison(c);
    if (found) return found;
  }
  return undefined;
}

function literal(node: Node, expr: string): number | undefined {
  if (node.name === 'NumberDurationLiteral') return Number(expr.slice(node.from, node.to));
  if (node.name === 'ParenExpr' && node.firstChild) return literal(node.firstChild, expr);
  if (node.name === 'UnaryExpr' && node.lastChild) {
    const v = literal(node.lastChild, expr);
    const minus = node.firstChild && expr.slice(node.firstChild.from, node.firstChild.to).trim() === '-';
    return v === undefined ? undefined : minus ? -v : v;
  }
  return undefined;
}

/** The number multiplying something in `N * x` or `x * N`, searched depth-first. */
function factor(node: Node, expr: string): number | undefined {
  if (node.name === 'BinaryExpr' && node.getChild('Mul')) {
    const left = node.firstChild ? literal(node.firstChild, expr) : undefined;
    const right = node.lastChild ? literal(node.lastChild, expr) : undefined;
    if (left !== undefined) return left;
    if (right !== undefined) return right;
  }
  for (let c = node.firstChild; c; c = c.nextSibling) {
    const f = factor(c, expr);
    if (f !== undefined) return f;
  }
  return undefined;
}

/** Reads the threshold out of an alert expression; throws with the alert's name when it cannot. */
export function parseThreshold(alert: string, expr: string, forDuration = '0s'): AlertThreshold {
  const tree = parser.parse(expr);
  const fail = (why: string) => new Error(`alert ${alert}: ${why} in \`${expr}\``);
  const cmp = findComparison(tree.topNode);
  const op = cmp && opOf(cmp);
  if (!cmp || !op || !cmp.firstChild || !cmp.lastChild) throw fail('no comparison to read a threshold from');
  const rhsNode = cmp.lastChild;
  const text = (n: Node) => expr.slice(n.from, n.to);
  const constant = literal(rhsNode, expr);
  const scaled = constant === undefined ? factor(rhsNode, expr) : undefined;
  const value = constant ?? scaled;
  if (value === undefined || Number.isNaN(value)) {
    throw fail('the right side of the comparison is neither a number nor `N * metric`');
  }
  return {
    alert,
    expr,
    for: forDuration,
    op,
    lhs: text(cmp.firstChild),
    rhs: text(rhsNode),
    value,
    kind: constant === undefined ? 'factor' : 'constant',
  };
}

export function alertThreshold(rules: RuleSet, name: string): AlertThreshold {
  const rule = findAlert(rules, name);
  return parseThreshold(name, rule.expr, rule.for ?? '0s');
}

export const OK_COLOR = 'green';
export const ALERT_COLOR = 'red';

/**
 * Grafana threshold steps (a value takes the colour of the highest step it reaches) that turn red where the
 * alert's condition holds. `==` and `<=` are used on 0/1 and count gauges, so the next integer is healthy.
 */
export function alertSteps(t: AlertThreshold): Step[] {
  switch (t.op) {
    case '>':
    case '>=':
      return [
        { value: null, color: OK_COLOR },
        { value: t.value, color: ALERT_COLOR },
      ];
    case '<':
      return [
        { value: null, color: ALERT_COLOR },
        { value: t.value, color: OK_COLOR },
      ];
    case '==':
    case '<=':
      if (!Number.isInteger(t.value)) {
        throw new Error(`alert ${t.alert}: cannot draw \`${t.op} ${t.value}\`: not an integer threshold`);
      }
      return [
        { value: null, color: ALERT_COLOR },
        { value: t.value + 1, color: OK_COLOR },
      ];
    default:
      throw new Error(`alert ${t.alert}: cannot draw a threshold for \`${t.op}\``);
  }
}
