// Collects the errors and warnings of one tool's compilation, each tagged with where in the
// manifest it is (tools[i].input.x) so every message can point at the line to change.

import type { GenerationError, GenerationErrorCode, GenerationWarning } from './errors.ts';

/** Collects problems for one tool. */
export class Sink {
  readonly errors: GenerationError[] = [];
  readonly warnings: GenerationWarning[] = [];
  constructor(
    readonly tool: string,
    readonly base: string,
  ) {}
  error(code: GenerationErrorCode, message: string, specPath: string | null, fix: string, manifestSuffix = ''): void {
    this.errors.push({ code, tool: this.tool, manifestPath: `${this.base}${manifestSuffix}`, specPath, message, fix });
  }
  warn(message: string, manifestSuffix = ''): void {
    this.warnings.push({ tool: this.tool, manifestPath: `${this.base}${manifestSuffix}`, message });
  }
}
