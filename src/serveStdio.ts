/**
 * `stdio`: Deputy for one local client over stdin/stdout. Loads nothing of the HTTP side
 * (src/README.md D45): what it shares with `serve` is in src/serveCommon.ts.
 */
import { serveStdio as serveMcpStdio } from '@modelcontextprotocol/server/stdio';
import type { Config } from './config.ts';
import { createRequestStateSeal, randomStateKey } from './server/requestState.ts';
import { memoryState } from './state/sharedState.ts';
import type { Caller } from './tools/caller.ts';
import {
  StartupError,
  auditFor,
  backendFor,
  checkedTokenProviders,
  createLogger,
  identityFor,
  mcpServerFor,
  reachable,
  surfacePlans,
  toolServiceFor,
  type ServeDependencies,
  type SurfacePlan,
} from './serveCommon.ts';

/**
 * The one surface stdio serves: the one DEPUTY_STDIO_SURFACE names (its tools, credentials and
 * read-only check), or, unset, the whole manifest with the token file's entries that name no surface.
 */
function stdioPlan(config: Config, deps: ServeDependencies): SurfacePlan {
  const name = config.stdio.surface;
  const all: SurfacePlan = { name: null, title: null, path: '/mcp', readOnly: false, tools: [...deps.tools] };
  if (name === null) return all;
  const plan = surfacePlans(deps).find((p) => p.name === name);
  if (!plan) {
    const declared = (deps.surfaces ?? []).map((s) => s.name);
    throw new StartupError(`DEPUTY_STDIO_SURFACE names surface '${name}', but ${declared.length > 0 ? `the manifest declares ${declared.join(', ')}` : 'the manifest declares no surfaces'}; set it to one of them or unset it`);
  }
  return plan;
}

/**
 * Local use over stdio: one client, no bearer token. The caller is the operator who started
 * the process, with the scopes given (DEPUTY_STDIO_SCOPES; default: every tool's scopes).
 * Token exchange needs a caller token and is unavailable here.
 */
export async function serveStdio(config: Config, deps: ServeDependencies): Promise<{ close(): Promise<void> }> {
  const log = deps.log ?? createLogger(config.logLevel);
  if (config.tokens.provider === 'token_exchange') throw new StartupError('token_exchange needs a caller token; use static or client_credentials over stdio');
  const plan = stdioPlan(config, deps);
  const { root, providers } = await checkedTokenProviders(config, deps, [plan], log);
  const provider = providers[0]!;
  if (!(await reachable(config.backend.url).catch(() => false))) {
    log.warn({ url: config.backend.url }, 'BACKEND UNREACHABLE at start-up: tool calls will fail until it answers; check DEPUTY_BACKEND_URL');
  }
  const backend = backendFor(config, provider);
  // One local user, one process: its quotas and approvals need no shared store.
  const state = memoryState();
  const audit = deps.audit ?? auditFor(config, log);
  const tools = toolServiceFor(config, deps, backend, log, audit, state, { surface: plan });
  const caller: Caller = {
    subject: config.stdio.subject,
    clientId: 'stdio',
    scopes: config.stdio.scopes ?? [...new Set(plan.tools.flatMap((tool) => tool.callerScopes))],
    tenant: config.stdio.tenant,
    expiresAt: Number.MAX_SAFE_INTEGER,
  };
  // One connection, so one process serves every round of an approval: a random key is enough.
  const approvals = { seal: createRequestStateSeal(config.approvals.stateKeys ?? [randomStateKey()], config.approvals.ttlMs), consumed: state.approvals };
  // No approval page over stdio: approvals are by form only.
  const newServer = mcpServerFor(identityFor(deps), tools, () => ({ caller, token: null }), approvals, null, log, true);
  const handle = serveMcpStdio((ctx) => newServer(ctx.era));
  return {
    async close() {
      await handle.close();
      await backend.close();
      await root.close?.();
      await audit.flush();
    },
  };
}
