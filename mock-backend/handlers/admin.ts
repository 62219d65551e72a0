/** Admin: runSqlReport, impersonateUser, rotateApiKeys. */
import { json, notFound, unprocessable, type ProblemReply } from '../reply.ts';
import type { OperationReply, OperationResolvers } from '../pipeline.ts';
import type { MockStore } from '../store.ts';
import type { ApiKeyMetadata } from '../apiTypes.ts';
import { customerNotFound } from './customers.ts';

export const IMPERSONATION_TTL_MS = 15 * 60 * 1000;

// ---------------------------------------------------------------------------------------------
// runSqlReport: a mock, not a database. It answers two statement shapes over the store's records
// (counts, and counts grouped by one column, each with an optional `WHERE col = 'value'`) so a
// report looks plausible and changes when the data does; anything else is refused with 422.

type Row = Record<string, string>;
const TABLES: Record<string, (store: MockStore) => Row[]> = {
  drafts: (s) => [...s.drafts.values()].map((d) => ({ status: d.status, author: d.author })),
  posts: (s) => [...s.posts.values()].map((p) => ({ status: p.status, author: p.author })),
  customers: (s) => [...s.customers.values()].map((c) => ({ status: c.status, plan: c.plan, country: c.billingAddress.country })),
  tickets: (s) => [...s.tickets.values()].map((t) => ({ status: t.status, priority: t.priority, customer_id: t.customerId })),
};

export const SQL_SHAPES = [
  "SELECT COUNT(*) FROM <table> [WHERE <column> = '<value>']",
  "SELECT <column>, COUNT(*) FROM <table> [WHERE <column> = '<value>'] GROUP BY <column>",
];

const COUNT = /^select\s+count\(\*\)(?:\s+as\s+(\w+))?\s+from\s+(\w+)(?:\s+where\s+(\w+)\s*=\s*'([^']*)')?$/i;
const GROUPED = /^select\s+(\w+)\s*,\s*count\(\*\)(?:\s+as\s+(\w+))?\s+from\s+(\w+)(?:\s+where\s+(\w+)\s*=\s*'([^']*)')?\s+group\s+by\s+(\w+)(?:\s+order\s+by\s+\1(?:\s+asc)?)?$/i;
const WRITE = /^(insert|update|delete|merge|drop|alter|truncate|create|grant|revoke|copy|vacuum)\b/i;

function runSql(store: MockStore, sql: string, maxRows: number): OperationReply<'runSqlReport'> {
  const statement = sql.trim().replace(/;\s*$/, '').replace(/\s+/g, ' ');
  if (statement.includes(';')) return unprocessable('only one statement per report');
  if (WRITE.test(statement)) return unprocessable('the reporting replica is read-only');

  const table = (name: string): Row[] | ProblemReply => TABLES[name.toLowerCase()]?.(store) ?? unprocessable(`unknown table '${name}'; known tables: ${Object.keys(TABLES).join(', ')}`);
  const filter = (rows: Row[], column: string | undefined, value: string | undefined): Row[] | ProblemReply => {
    if (column === undefined) return rows;
    const col = column.toLowerCase();
    if (rows.length > 0 && !(col in rows[0]!)) return unprocessable(`unknown column '${column}'`);
    return rows.filter((r) => r[col] === value);
  };

  let m = COUNT.exec(statement);
  if (m) {
    const [, alias, tableName, whereCol, whereVal] = m;
    const rows = table(tableName!);
    if (!Array.isArray(rows)) return rows;
    const filtered = filter(rows, whereCol, whereVal);
    if (!Array.isArray(filtered)) return filtered;
    const out = [[filtered.length]].slice(0, maxRows);
    return json(200, { columns: [alias ?? 'count'], rows: out, rowCount: out.length });
  }
  m = GROUPED.exec(statement);
  if (m) {
    const [, column, alias, tableName, whereCol, whereVal, groupBy] = m;
    if (column!.toLowerCase() !== groupBy!.toLowerCase()) return unprocessable(`column '${column}' must appear in the GROUP BY clause`);
    const rows = table(tableName!);
    if (!Array.isArray(rows)) return rows;
    const col = column!.toLowerCase();
    if (rows.length > 0 && !(col in rows[0]!)) return unprocessable(`unknown column '${column}'`);
    const filtered = filter(rows, whereCol, whereVal);
    if (!Array.isArray(filtered)) return filtered;
    const counts = new Map<string, number>();
    for (const r of filtered) counts.set(r[col]!, (counts.get(r[col]!) ?? 0) + 1);
    const out = [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).slice(0, maxRows);
    return json(200, { columns: [col, alias ?? 'count'], rows: out, rowCount: out.length });
  }
  return unprocessable(`the mock backend understands only these statements: ${SQL_SHAPES.join(' | ')}`);
}

// ---------------------------------------------------------------------------------------------

export const adminOperations = {
  runSqlReport({ store, body }) {
    return runSql(store, body.sql, body.maxRows);
  },

  impersonateUser({ store, body, now, principal }) {
    const request = body;
    const customer = store.customers.get(request.customerId);
    if (!customer) return customerNotFound(request.customerId);
    // The mock knows one user per customer by name; colleagues share the contact's email domain.
    const domain = customer.contact.email.split('@')[1]!.toLowerCase();
    if (request.userEmail.split('@')[1]?.toLowerCase() !== domain) {
      return notFound(`no user '${request.userEmail}' at customer '${customer.id}'; its users have @${domain} addresses`);
    }
    if (customer.status === 'cancelled') return unprocessable(`customer '${customer.id}' is cancelled; its users cannot sign in`);
    const id = store.newId('imp_', 10, (x) => store.events.impersonations.some((i) => i.id === x));
    const impersonation = {
      id,
      customerId: customer.id,
      userEmail: request.userEmail,
      sessionUrl: `https://app.acme-press.example/impersonation/${id}`,
      expiresAt: new Date(now.getTime() + IMPERSONATION_TTL_MS).toISOString(),
    };
    store.events.impersonations.push({ ...impersonation, reason: request.reason, by: principal?.subject ?? 'anonymous' });
    return json(201, impersonation);
  },

  rotateApiKeys({ store, body, now, principal }) {
    const { customerId, revokeExisting } = body;
    const customer = store.customers.get(customerId);
    if (!customer) return customerNotFound(customerId);
    const taken = (id: string) => [...store.customers.values()].some((c) => c.apiKeys.some((k) => k.id === id));
    // One new key per existing key, with the same scopes; a customer without keys gets a read key.
    const scopeSets = customer.apiKeys.length > 0 ? customer.apiKeys.map((k) => k.scopes) : [['content:read']];
    const fresh: ApiKeyMetadata[] = scopeSets.map((scopes) => ({
      id: store.newId('key_', 8, taken),
      prefix: `ak_live_${store.newId('', 4)}`,
      createdAt: now.toISOString(),
      lastUsedAt: null,
      scopes: [...scopes],
    }));
    const revoked = revokeExisting ? customer.apiKeys.length : 0;
    customer.apiKeys = revokeExisting ? fresh : [...customer.apiKeys, ...fresh];
    store.events.keyRotations.push({ customerId, revoked, at: now.toISOString(), by: principal?.subject ?? 'anonymous' });
    return json(200, { customerId, revoked, keys: customer.apiKeys });
  },
} satisfies OperationResolvers;
