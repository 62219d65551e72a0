/**
 * What a recorded figure was measured on: cores, CPU model, memory, Node, and the load average
 * (the machine may be shared, so every result carries the load before and after it ran).
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

export interface Machine {
  nproc: number;
  cpuModel: string;
  totalMemoryMiB: number;
  node: string;
  platform: string;
}

export function machine(): Machine {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match?.[1]) cpuModel = match[1].trim();
  } catch {
    // not Linux: os.cpus() it is
  }
  return { nproc: cpus().length, cpuModel, totalMemoryMiB: Math.round(totalmem() / 2 ** 20), node: process.version, platform: `${process.platform}-${process.arch}` };
}

/** 1, 5 and 15 minute load averages, two decimals. */
export function loadAverage(): [number, number, number] {
  const [a = 0, b = 0, c = 0] = loadavg();
  return [round(a, 2), round(b, 2), round(c, 2)];
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

export interface ResultEnvelope<T> {
  bench: string;
  date: string;
  command: string;
  commit: string;
  machine: Machine;
  placement: string;
  loadAverage: { before: [number, number, number]; after: [number, number, number] };
  durationSeconds: number;
  quick: boolean;
  targets: unknown[];
  notes: string[];
  result: T;
}

/** Writes `bench/results/<name>.json` and returns the path. */
export function writeResult<T>(envelope: ResultEnvelope<T>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = `${RESULTS_DIR}${envelope.bench}.json`;
  writeFileSync(path, `${JSON.stringify(envelope, null, 2)}\n`);
  return path;
}
