/**
 * Redaction: what secret redaction (src/tools/redactSecrets.ts) costs per tool result, in
 * process, warm. Inputs from the mock backend's seed, as the pick projection leaves them: one
 * customer summary (getCustomerSummary), a page of 20 tickets (listCustomerTickets)
 * (the common case: no string holds an anchor of the maintained preset, so no preset scan runs),
 * the same page with a database URL pasted into one ticket (one preset scan), for contrast
 * secretlint's preset run once over the whole page, which is what every call would pay
 * without the anchors, and one hostile 100 KB string built from each rule's worst case
 * (backend text is untrusted: the cost must grow with the text's length, not its square).
 */
import { createSeed } from '../mock-backend/seed.ts';
import { profile } from '../src/generated/tools.ts';
import { createRedactor } from '../src/tools/redactSecrets.ts';
import { presetFindings } from '../src/tools/secretlintScan.ts';
import type { Bench, BenchOptions, BenchReport } from './lib/bench.ts';
import { round } from './lib/machine.ts';
import { summarize, table, verdict } from './lib/stats.ts';

/** A tenth of the overhead target (p50 ≤ 1 ms per call, bench/README.md "Overhead"). */
const TARGET_COMMON_P50_MS = 0.1;

/**
 * 100 KB of hostile text in ≤ 100 ms, so the largest answer Deputy reads (1 MiB,
 * `DEPUTY_BACKEND_MAX_RESPONSE_BYTES`) costs about a second, not minutes as a quadratic rule would.
 */
const TARGET_HOSTILE_P50_MS = 100;

/**
 * Each rule's worst case, 1/8 of 100 KB apiece: label after label with nothing to redact, runs
 * that a careless pattern re-scans from every `-`, and a BEGIN line without its END (last, since
 * it redacts to the end of the text).
 */
function hostileText(bytes = 100_000): string {
  const pieces = ['Authorization:', 'eyJaaaaa-', 'password is "', 'basic ', '4111 ', 'xoxb-aaaa-', 'a://b:', '-----BEGIN PRIVATE KEY-----\n'];
  return pieces.map((piece) => piece.repeat(Math.ceil(bytes / pieces.length / piece.length))).join(' ');
}

async function timeEach(calls: number, warmup: number, run: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await run();
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await run();
    samples.push(performance.now() - t0);
  }
  return samples;
}

export const redaction: Bench = {
  name: 'redaction',
  about: 'secret redaction per tool result, in process: common case, one preset scan, the preset on every call, hostile text',
  async run(opts: BenchOptions): Promise<BenchReport> {
    const calls = opts.quick ? 500 : 5_000;
    const warmup = opts.quick ? 200 : 1_000;
    const seed = createSeed();
    const redactor = createRedactor(profile.secretPatterns);
    const { id, name, status, plan, renewalDate, seats } = seed.customers[0]!;
    const customer = { id, name, status, plan, renewalDate, seats };
    const page = { items: seed.tickets.slice(0, 20), nextCursor: 'eyJvZmZzZXQiOjIwfQ' };
    const pasted = { ...page, items: page.items.map((t, i) => (i === 7 ? { ...t, lastMessage: `${t.lastMessage} db: postgres://app:S3cretPassw0rd@db.internal/app` } : t)) };
    const pageText = JSON.stringify(page);
    const hostile = { note: hostileText() };

    const series = {
      'customer summary (common case)': await timeEach(calls, warmup, () => redactor.redactSecrets(customer)),
      '20 tickets (common case)': await timeEach(calls, warmup, () => redactor.redactSecrets(page)),
      '20 tickets, one with a database URL (one preset scan)': await timeEach(calls, warmup, () => redactor.redactSecrets(pasted)),
      'preset run over the whole page (no anchors)': await timeEach(Math.ceil(calls / 5), Math.ceil(warmup / 5), () => presetFindings(pageText)),
      'hostile 100 KB string (every rule\'s worst case)': await timeEach(opts.quick ? 5 : 30, 3, () => redactor.redactSecrets(hostile)),
    };
    const stats = Object.fromEntries(Object.entries(series).map(([name, samples]) => [name, summarize(samples)]));
    const rows = Object.entries(stats).map(([name, s]) => [name, round(s.p50, 4), round(s.p90, 4), round(s.p99, 4), round(s.mean, 4)]);
    const common = stats['20 tickets (common case)']!;
    const worst = stats['hostile 100 KB string (every rule\'s worst case)']!;
    const pass = common.p50 <= TARGET_COMMON_P50_MS && worst.p50 <= TARGET_HOSTILE_P50_MS;
    return {
      result: {
        bytes: { customer: JSON.stringify(customer).length, page: pageText.length, hostile: hostile.note.length },
        ms: Object.fromEntries(Object.entries(stats).map(([name, s]) => [name, { n: s.n, p50: round(s.p50, 4), p90: round(s.p90, 4), p99: round(s.p99, 4), mean: round(s.mean, 4) }])),
      },
      table: table([['ms per result', 'p50', 'p90', 'p99', 'mean'], ...rows]),
      targets: [
        {
          name: 'redaction, 20 tickets, p50',
          target: `≤ ${TARGET_COMMON_P50_MS} ms`,
          measured: `${round(common.p50, 4)} ms`,
          pass: common.p50 <= TARGET_COMMON_P50_MS,
        },
        {
          name: 'redaction, hostile 100 KB, p50',
          target: `≤ ${TARGET_HOSTILE_P50_MS} ms`,
          measured: `${round(worst.p50, 2)} ms`,
          pass: worst.p50 <= TARGET_HOSTILE_P50_MS,
        },
      ],
      notes: [`verdict: ${verdict(pass)}`],
    };
  },
};
