/** What every benchmark module provides to bench/run.ts. */

export interface BenchOptions {
  /** Short durations and counts, for building and debugging the benches (figures not recorded as final). */
  quick: boolean;
  /** Every bench is running (`npm run bench` with no names): keep each short. */
  all: boolean;
  /** Profile the Deputy child with `--cpu-prof` into this directory. */
  cpuProfDir?: string;
  /** Progress lines (stderr). */
  log: (line: string) => void;
}

export interface Target {
  name: string;
  target: string;
  measured: string;
  pass: boolean;
}

export interface BenchReport {
  result: unknown;
  /** A printable table of the figures. */
  table: string;
  targets: Target[];
  /** Where the processes ran, when the bench places them itself (default: bench/lib/processes.ts placement()). */
  placement?: string;
  /** Anything the bench wants in the JSON besides result (notes, parameters). */
  notes?: string[];
  /** The bench wrote its own results file (bench/run.ts then writes none). */
  ownResultFile?: string;
}

export interface Bench {
  name: string;
  about: string;
  run(opts: BenchOptions): Promise<BenchReport>;
}
