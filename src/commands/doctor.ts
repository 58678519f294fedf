import type { LoadedConfig } from '../config/load.js';
import { Redactor, redactUrl } from '../redact.js';
import { describeError } from '../warehouse/errors.js';
import { openWarehouse } from '../warehouse/open.js';
import { type Finding, inspectWarehouseRole, type RoleReport } from '../warehouse/privileges.js';

/**
 * `mlwatch doctor --config FILE [--strict] [--json]`: connects as the configured warehouse role and reports
 * what it may do beyond reading what the config watches (src/warehouse/privileges.ts). Exit 0 when clean and,
 * by default, with findings too (they are warnings); 1 with --strict when anything was found; 2 when the role
 * cannot be inspected (no connection, refused login), with the reason and never a password.
 */
export async function doctor(
  config: LoadedConfig,
  opts: { strict: boolean; json?: boolean },
): Promise<{ code: number; out: string }> {
  const url = redactUrl(config.warehouse.url);
  // One connection is all doctor needs; the pool's ping connection is never opened.
  const warehouse = openWarehouse({ ...config.warehouse, pool: 1 });
  let report: RoleReport;
  try {
    report = await inspectWarehouseRole(warehouse, config);
  } catch (err) {
    const reason = scrub(describeError(err, config.warehouse.statementTimeoutMs), config);
    const out = `mlwatch doctor: cannot inspect the warehouse role at ${url}: ${reason}\n`;
    return { code: 2, out: opts.json ? `${JSON.stringify({ url, error: reason }, null, 2)}\n` : out };
  } finally {
    await warehouse.close().catch(() => {});
  }
  const code = opts.strict && report.findings.length > 0 ? 1 : 0;
  return { code, out: opts.json ? `${JSON.stringify({ url, ...report }, null, 2)}\n` : render(report, url) };
}

function render(r: RoleReport, url: string): string {
  const lines = [
    `warehouse role ${r.role} on database ${r.database} (${url})`,
    `watched schemas: ${r.schemas.length > 0 ? r.schemas.join(', ') : '(none found)'}`,
    '',
  ];
  if (r.findings.length === 0) {
    lines.push('no findings: the role can read what mlwatch watches and do nothing else it checks for');
  } else {
    lines.push(
      `${r.findings.length} finding(s): what this role may do that a monitoring role should not`,
      '',
    );
    const width = Math.max(...r.findings.map((f) => f.kind.length), 'KIND'.length);
    lines.push(`  ${'KIND'.padEnd(width)}  WHAT`);
    for (const f of r.findings) lines.push(`  ${f.kind.padEnd(width)}  ${f.what}`);
    for (const [i, f] of r.findings.entries()) lines.push('', ...detail(f, i + 1));
  }
  if (r.notes.length > 0) lines.push('', 'notes:', ...r.notes.map((n) => `  - ${n}`));
  return `${lines.join('\n')}\n`;
}

function detail(f: Finding, n: number): string[] {
  return [
    `${n}. [${f.kind}] ${f.what}`,
    `   why: ${f.why}`,
    '   fix:',
    ...f.fix.split('\n').map((l) => `     ${l}`),
  ];
}

// A driver message may quote what it was given; the configured password never reaches the output.
function scrub(message: string, config: LoadedConfig): string {
  return new Redactor().add(config.warehouse.password).addUrl(config.warehouse.url).redact(message);
}
