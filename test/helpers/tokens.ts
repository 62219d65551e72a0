/**
 * Backend tokens for tests, minted the way Deputy will get them: client credentials at the mock's
 * own `/oauth/token`, with exactly the scopes asked for. The client secret comes from
 * `mock-backend/fixtures/clients.yaml`, never from a copy.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { parse } from 'yaml';

const CLIENTS_FILE = fileURLToPath(new URL('../../mock-backend/fixtures/clients.yaml', import.meta.url));

export function clientSecret(clientId: string): string {
  const { clients } = parse(readFileSync(CLIENTS_FILE, 'utf8')) as { clients: { id: string; secret: string }[] };
  const client = clients.find((c) => c.id === clientId);
  if (!client) throw new Error(`no client '${clientId}' in ${CLIENTS_FILE}`);
  return client.secret;
}

/** A JWT for the mock backend holding exactly `scopes` (client `deputy` unless told otherwise). */
export async function mintBackendToken(baseUrl: string, scopes: string | readonly string[], clientId = 'deputy'): Promise<string> {
  const scope = typeof scopes === 'string' ? scopes : scopes.join(' ');
  const res = await request(`${baseUrl}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret(clientId)}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString(),
  });
  const body = (await res.body.json()) as { access_token?: string; scope?: string; error?: string };
  if (res.statusCode !== 200 || !body.access_token) throw new Error(`token request for '${scope}' failed: ${res.statusCode} ${body.error ?? ''}`);
  if (body.scope !== scope) throw new Error(`asked for '${scope}', got '${body.scope}'`);
  return body.access_token;
}
