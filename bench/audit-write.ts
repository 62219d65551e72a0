/**
 * What one audit line costs Deputy's process, written the way Deputy writes it: the same pino
 * options (`createAuditLog`) and a file destination, one line per turn of the event loop as a
 * server writes them, per-line (`minLength: 0`, one write each) against batched
 * (`AUDIT_BUFFER`, src/serveCommon.ts). CPU time (user + system) per line, so a busy machine changes it
 * little; the file is deleted afterwards.
 *
 *   npx tsx bench/audit-write.ts [--lines 20000] [--rounds 3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { AUDIT_BUFFER } from '../src/serveCommon.ts';
import { createAuditLog, type AuditEvent } from '../src/tools/audit.ts';

const { values } = parseArgs({ options: { lines: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '3' } } });
const lines = Number(values.lines);
const event: AuditEvent = {
  correlationId: '4bf92f3577b34da6a3ce929d0e0e4736',
  caller: { subject: 'alice@example.com', clientId: 'agent' },
  tenant: null,
  sessionId: '3f2a9c1e-replica-a',
  tool: 'getCustomerSummary',
  risk: 'read',
  arguments: { customerId: 'cus_00000001' },
  approval: 'not_required',
  backend: { status: 200, durationMs: 1.2, errorCode: null },
  result: { bytes: 120, items: null, redactions: 0, truncated: false },
  outcome: 'ok',
  durationMs: 2.5,
};
const dir = mkdtempSync(join(tmpdir(), 'deputy-audit-bench-'));

async function cpuPerLine(buffer: { minLength: number; maxLength?: number; periodicFlush?: number }): Promise<{ cpuUs: number; sysUs: number }> {
  const destination = pino.destination({ dest: join(dir, 'audit.log'), sync: false, ...buffer });
  await new Promise((resolve) => destination.once('ready', resolve));
  const audit = createAuditLog({ destination, redactArguments: ['body'] });
  const start = process.cpuUsage();
  for (let i = 0; i < lines; i++) {
    audit.record(event);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await audit.flush();
  const used = process.cpuUsage(start);
  destination.end();
  return { cpuUs: (used.user + used.system) / lines, sysUs: used.system / lines };
}

const rows: string[] = [];
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [name, buffer] of [['one write per line', { minLength: 0 }], ['batched (AUDIT_BUFFER)', AUDIT_BUFFER]] as const) {
    const { cpuUs, sysUs } = await cpuPerLine(buffer);
    rows.push(`${name.padEnd(24)} CPU ${cpuUs.toFixed(2).padStart(6)} µs/line (system ${sysUs.toFixed(2)})`);
  }
}
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`${lines} lines per run\n${rows.join('\n')}\n`);
