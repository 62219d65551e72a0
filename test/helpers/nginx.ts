/**
 * nginx from Debian's packages as a test load balancer: installed if missing (CI starts from a
 * fresh machine), run as a foreground child (`daemon off`) with the repository's own
 * `.deploy/nginx/deputy.conf.template` rendered into a private temp directory, on loopback.
 * No system service, nothing outside the temp directory; `stop()` ends the process it started.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDebianBinary, startServerProcess } from './debianPackages.ts';


export const NGINX_TEMPLATE = fileURLToPath(new URL('../../.deploy/nginx/deputy.conf.template', import.meta.url));

/** The nginx binary, installing Debian's `nginx-light` (or `nginx` where -light is gone) when none is found. */
export function ensureNginx(): Promise<string> {
  return ensureDebianBinary(['nginx'], ['nginx-light', 'nginx']);
}

export interface AccessLogEntry {
  /** The request's Mcp-Session-Id, '' when none. */
  sid: string;
  /** Every upstream nginx tried, in order (`127.0.0.1:3001`). */
  upstreams: string[];
  status: number;
  method: string;
  uri: string;
}

export interface Nginx {
  url: string;
  port: number;
  /** The rendered Deputy include, as nginx loaded it. */
  config: string;
  accessLog(): Promise<AccessLogEntry[]>;
  stop(): Promise<void>;
}

export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{(DEPUTY_[A-Z0-9_]+)\}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for ${whole} in the nginx template`);
    return value;
  });
}

export async function startNginx(options: { binary: string; port: number; replicas: { r1: string; r2: string } }): Promise<Nginx> {
  const dir = await mkdtemp(join(tmpdir(), 'deputy-nginx-'));
  await chmod(dir, 0o755); // a root master's workers run as another user and create temp dirs here
  const include = renderTemplate(await readFile(NGINX_TEMPLATE, 'utf8'), {
    DEPUTY_LISTEN: `127.0.0.1:${options.port}`,
    DEPUTY_REPLICA_R1: options.replicas.r1,
    DEPUTY_REPLICA_R2: options.replicas.r2,
  });
  await writeFile(join(dir, 'deputy.conf'), include);
  await writeFile(
    join(dir, 'nginx.conf'),
    [
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      'error_log stderr warn;',
      'events { worker_connections 512; }',
      'http {',
      `  log_format deputy escape=json '{"sid":"$http_mcp_session_id","up":"$upstream_addr","status":$status,"method":"$request_method","uri":"$uri"}';`,
      `  access_log ${dir}/access.log deputy;`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${dir}/${kind}_temp;`),
      `  include ${dir}/deputy.conf;`,
      '}',
      '',
    ].join('\n'),
  );

  const server = await startServerProcess({
    name: 'nginx',
    binary: options.binary,
    args: ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr', '-g', 'daemon off;'],
    port: options.port,
    stopSignal: 'SIGQUIT', // graceful: workers finish, then the master exits
    cleanup: () => rm(dir, { recursive: true, force: true }),
  });

  return {
    url: `http://127.0.0.1:${options.port}`,
    port: options.port,
    config: include,
    async accessLog() {
      const text = await readFile(join(dir, 'access.log'), 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const raw = JSON.parse(line) as { sid: string; up: string; status: number; method: string; uri: string };
          return { sid: raw.sid, upstreams: raw.up.split(/[,:]\s+/).filter(Boolean).map((u) => u.trim()), status: raw.status, method: raw.method, uri: raw.uri };
        });
    },
    stop: server.stop,
  };
}
