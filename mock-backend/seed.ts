/**
 * Deterministic seed data for the mock backend: the same records on every run and after every
 * `reset()`, so tests can name them. Everything random comes from one seeded PRNG (never
 * `Math.random`), and every date is relative to a fixed reference date.
 *
 * Fixture records tests may rely on are exported as `FIXTURES` and listed in mock-backend/README.md, "Seed data".
 */
import type { ApiKeyMetadata, Customer, CustomerStatus, Draft, DraftStatus, PaymentMethod, Plan, Post, RiskFlag, Ticket, TicketNote, TicketPriority, TicketStatus } from './apiTypes.ts';

/** "Now" as far as the seed is concerned; all seeded timestamps lie before it. */
export const SEED_REFERENCE_DATE = new Date('2025-06-30T12:00:00.000Z');
export const SEED = 20250630;

export interface SeedData {
  drafts: Draft[];
  posts: Post[];
  customers: Customer[];
  tickets: Ticket[];
  notes: TicketNote[];
}

/** Records with documented contents; see mock-backend/README.md, "Seed data". */
export const FIXTURES = {
  /** In review, never published, by `mchen`. */
  draftInReview: 'q3-pricing-update.md',
  /** Published; its live post is `livePost`. */
  draftPublished: 'launch-week-recap.md',
  livePost: 'post_launchweek',
  /** Back in `draft` state; its post `unpublishedPost` was taken down. */
  draftUnpublished: 'pricing-2023.md',
  unpublishedPost: 'post_oldpricing',
  /** Northwind Traders GmbH: active pro plan (25 seats), Visa card, VIP — cannot be deleted. */
  activeCustomer: 'cus_Northwind001',
  /** Pebble & Twig Studio: cancelled free account with SEPA debit — can be deleted. */
  cancelledCustomer: 'cus_PebbleTwig01',
  /** Northwind's open ticket (takes notes) and closed ticket (refuses them, 409). Pebble & Twig has tkt_100004. */
  openTicket: 'tkt_100001',
  closedTicket: 'tkt_100002',
} as const;

/** mulberry32: a tiny, well-known 32-bit PRNG; good enough for plausible data, and reproducible. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const chars = (alphabet: string, length: number): string => Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
  return { next, int, pick, chars, chance: (p: number) => next() < p };
}

export interface Rng {
  next(): number;
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  chars(alphabet: string, length: number): string;
  chance(probability: number): boolean;
}

export const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
export const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

const DAY = 86_400_000;
const daysAgo = (days: number, minutes = 0): string => new Date(SEED_REFERENCE_DATE.getTime() - days * DAY - minutes * 60_000).toISOString();
const dateOnly = (iso: string): string => iso.slice(0, 10);

// ---------------------------------------------------------------------------------------------
// Drafts and posts

interface DraftIdea {
  filename: string;
  title: string;
  author: string;
  status: DraftStatus;
  tags: string[];
  lead: string;
}

const DRAFT_IDEAS: DraftIdea[] = [
  { filename: 'q3-pricing-update.md', title: 'Q3 pricing update', author: 'mchen', status: 'in_review', tags: ['pricing', 'announcements'], lead: 'From 1 September, the Starter plan includes ten seats instead of five, and the Pro plan moves to usage-based image storage.' },
  { filename: 'launch-week-recap.md', title: 'Launch week recap', author: 'apatel', status: 'published', tags: ['announcements', 'product'], lead: 'Five days, five launches: here is everything we shipped during launch week and what comes next.' },
  { filename: 'pricing-2023.md', title: 'Our 2023 pricing', author: 'mchen', status: 'draft', tags: ['pricing'], lead: 'This page explains the plans we offered in 2023 and how existing customers were grandfathered.' },
  { filename: 'introducing-team-workspaces.md', title: 'Introducing team workspaces', author: 'apatel', status: 'published', tags: ['product', 'collaboration'], lead: 'Team workspaces let editors share drafts, templates and review queues without sharing a login.' },
  { filename: 'how-we-cut-build-times-in-half.md', title: 'How we cut build times in half', author: 'jkowalski', status: 'published', tags: ['engineering'], lead: 'Static builds for large publications used to take twelve minutes; this is how we got them under six.' },
  { filename: 'customer-story-northwind.md', title: 'Customer story: Northwind Traders', author: 'lfernandes', status: 'scheduled', tags: ['customers', 'case-study'], lead: 'Northwind Traders moved three regional blogs onto Acme Press and now publishes twice as often.' },
  { filename: 'markdown-tips-for-editors.md', title: 'Ten markdown tips for editors', author: 'okim', status: 'draft', tags: ['guides', 'markdown'], lead: 'Tables, footnotes and callouts: a short tour of the markdown features editors ask us about most.' },
  { filename: 'seo-checklist-2025.md', title: 'The 2025 SEO checklist', author: 'lfernandes', status: 'in_review', tags: ['guides', 'seo'], lead: 'Search has changed a lot this year. Here is the checklist our own team uses before every post goes live.' },
  { filename: 'changelog-june-2025.md', title: 'Changelog: June 2025', author: 'jkowalski', status: 'published', tags: ['changelog'], lead: 'Scheduled publishing across time zones, faster image uploads and forty-one bug fixes.' },
  { filename: 'accessibility-audit-results.md', title: 'What our accessibility audit found', author: 'okim', status: 'draft', tags: ['accessibility', 'engineering'], lead: 'An external audit found nineteen issues in the reader theme. We have fixed fourteen; this is the plan for the rest.' },
  { filename: 'newsletter-best-practices.md', title: 'Newsletter best practices', author: 'rnakamura', status: 'published', tags: ['guides', 'newsletters'], lead: 'Subject lines, send times and the one metric that actually predicts unsubscribes.' },
  { filename: 'migrating-from-wordpress.md', title: 'Migrating from WordPress', author: 'jkowalski', status: 'in_review', tags: ['guides', 'migration'], lead: 'Our importer now keeps categories, featured images and redirects. Here is how to move a site in an afternoon.' },
  { filename: 'security-incident-postmortem.md', title: 'Postmortem: the 12 May login outage', author: 'jkowalski', status: 'draft', tags: ['engineering', 'incidents'], lead: 'For 47 minutes on 12 May some editors could not sign in. This is what happened and what we changed.' },
  { filename: 'api-v2-deprecation-notice.md', title: 'API v1 retires on 31 December', author: 'apatel', status: 'scheduled', tags: ['announcements', 'api'], lead: 'API v1 stops answering on 31 December 2025. Most integrations need a one-line change to move to v2.' },
  { filename: 'writing-for-the-web.md', title: 'Writing for the web', author: 'rnakamura', status: 'published', tags: ['guides', 'writing'], lead: 'Readers scan before they read. Short paragraphs, honest headings and one idea per section go a long way.' },
  { filename: 'holiday-support-hours.md', title: 'Holiday support hours', author: 'lfernandes', status: 'draft', tags: ['support'], lead: 'Our support team will answer tickets on a reduced schedule between 23 December and 2 January.' },
  { filename: 'templates-gallery-launch.md', title: 'A gallery of post templates', author: 'okim', status: 'in_review', tags: ['product', 'templates'], lead: 'Thirty templates for launches, interviews, changelogs and recipes, ready to copy into any workspace.' },
  { filename: 'image-cdn-improvements.md', title: 'Faster images everywhere', author: 'jkowalski', status: 'published', tags: ['engineering', 'performance'], lead: 'Images are now served in AVIF where browsers support it, cutting page weight by a third on average.' },
  { filename: 'editor-keyboard-shortcuts.md', title: 'Every keyboard shortcut in the editor', author: 'okim', status: 'draft', tags: ['guides'], lead: 'A printable list of every shortcut in the editor, including the ones we never documented.' },
  { filename: 'community-spotlight-may.md', title: 'Community spotlight: May', author: 'rnakamura', status: 'published', tags: ['community'], lead: 'A food co-op, a cycling club and a climate newsletter: three publications we loved this month.' },
  { filename: 'gdpr-data-export-guide.md', title: 'Exporting your data under GDPR', author: 'lfernandes', status: 'in_review', tags: ['guides', 'privacy'], lead: 'Any reader or customer can ask for a copy of their data. This guide shows editors how to answer within the deadline.' },
  { filename: 'roadmap-h2-2025.md', title: 'Roadmap for the second half of 2025', author: 'apatel', status: 'draft', tags: ['roadmap'], lead: 'Comments, paid memberships and an offline editor top the list for the rest of the year.' },
  { filename: 'dark-mode-is-here.md', title: 'Dark mode is here', author: 'mchen', status: 'published', tags: ['product'], lead: 'The editor and the reader theme now follow your system setting, and readers can switch per site.' },
  { filename: 'custom-domains-faq.md', title: 'Custom domains: your questions answered', author: 'mchen', status: 'scheduled', tags: ['guides', 'domains'], lead: 'How to point a domain at Acme Press, how certificates renew and what happens to old links.' },
];

const BODY_SENTENCES = [
  'We heard this request in almost every customer call last quarter.',
  'Nothing changes for existing workspaces until you opt in.',
  'The change rolls out gradually over the next two weeks.',
  'If anything looks wrong, reply to this post or open a ticket and we will take a look.',
  'Editors on the Pro plan get it first; everyone else follows a week later.',
  'We measured the effect on a sample of two hundred publications before deciding.',
  'Thanks to everyone who tested the beta and sent us detailed notes.',
  'The full details are in the help centre, linked below.',
  'Most teams will not need to do anything at all.',
  'We will keep the old behaviour available behind a setting until the end of the year.',
];

function draftBody(rng: Rng, idea: DraftIdea): string {
  const paragraphs = [idea.lead];
  const sections = rng.int(2, 4);
  for (let i = 0; i < sections; i++) {
    const sentences = Array.from({ length: rng.int(2, 4) }, () => rng.pick(BODY_SENTENCES));
    paragraphs.push(`## ${['Why', 'What changes', 'Who is affected', 'How to get started', 'What comes next'][i]}\n\n${sentences.join(' ')}`);
  }
  return `# ${idea.title}\n\n${paragraphs.join('\n\n')}\n`;
}

const wordCount = (markdown: string): number => markdown.split(/\s+/).filter((w) => /[A-Za-z0-9]/.test(w)).length;

function seedDraftsAndPosts(rng: Rng): { drafts: Draft[]; posts: Post[] } {
  const drafts: Draft[] = [];
  const posts: Post[] = [];
  DRAFT_IDEAS.forEach((idea, i) => {
    const createdDaysAgo = 10 + i * 3 + rng.int(0, 2);
    const updatedDaysAgo = Math.max(0, createdDaysAgo - rng.int(1, 9));
    const body = draftBody(rng, idea);
    const draft: Draft = {
      filename: idea.filename,
      title: idea.title,
      author: idea.author,
      status: idea.status,
      wordCount: wordCount(body),
      updatedAt: daysAgo(updatedDaysAgo, rng.int(0, 600)),
      excerpt: idea.lead,
      body,
      tags: idea.tags,
      createdAt: daysAgo(createdDaysAgo, rng.int(0, 600)),
      publishedPostId: null,
    };
    const slug = idea.filename.replace(/\.md$/, '');
    if (idea.status === 'published' || idea.filename === FIXTURES.draftUnpublished) {
      const id =
        idea.filename === FIXTURES.draftPublished ? FIXTURES.livePost : idea.filename === FIXTURES.draftUnpublished ? FIXTURES.unpublishedPost : `post_${rng.chars(LOWER_ALNUM, 10)}`;
      const live = idea.status === 'published';
      posts.push({
        id,
        slug,
        title: idea.title,
        author: idea.author,
        status: live ? 'live' : 'unpublished',
        url: `https://acme-press.example/blog/${slug}`,
        sourceDraft: idea.filename,
        publishedAt: draft.updatedAt,
      });
      if (live) draft.publishedPostId = id;
    }
    drafts.push(draft);
  });
  return { drafts, posts };
}

// ---------------------------------------------------------------------------------------------
// Customers

const FIRST_NAMES = ['Amara', 'Bastian', 'Chiara', 'Dmitri', 'Elif', 'Farah', 'Gustavo', 'Hana', 'Ines', 'Jonas', 'Kwame', 'Lena', 'Mateo', 'Nadia', 'Oskar', 'Priya', 'Quentin', 'Rosa', 'Sanjay', 'Tereza', 'Ulla', 'Vikram', 'Wen', 'Yusuf', 'Zofia'];
const LAST_NAMES = ['Abbott', 'Bergström', 'Castillo', 'Dubois', 'Eriksen', 'Fischer', 'García', 'Haddad', 'Ivanova', 'Jansen', 'Kowalczyk', 'Lambert', 'Moreau', 'Nakamura', 'Okafor', 'Petrov', 'Quinn', 'Rossi', 'Schmidt', 'Tanaka', 'Umarov', 'Varga', 'Weber', 'Yilmaz', 'Zhang'];
const COMPANY_STEMS = ['Bluebird', 'Copperleaf', 'Driftwood', 'Evergreen', 'Foxglove', 'Granite', 'Harbor', 'Ironbark', 'Juniper', 'Kestrel', 'Lantern', 'Meridian', 'Nimbus', 'Orchard', 'Parallax', 'Quarry', 'Riverbend', 'Saltmarsh', 'Tidewater', 'Umbra', 'Vantage', 'Willow', 'Yellowtail', 'Zephyr', 'Atlas', 'Beacon', 'Cobalt', 'Delta', 'Ember', 'Fjord', 'Glacier', 'Hollow', 'Indigo', 'Jasper', 'Kindling', 'Lumen', 'Mosaic', 'Northstar', 'Oakridge', 'Pinecone', 'Quill', 'Redwood', 'Sable', 'Thistle', 'Upland', 'Verdant', 'Wavelength', 'Xylo', 'Yarrow', 'Zinnia', 'Alder', 'Brightwater'];
const COMPANY_KINDS = ['Media', 'Publishing', 'Labs', 'Journal', 'Collective', 'Studio', 'Press', 'Review', 'Digital', 'Weekly'];

interface Locale {
  country: string;
  suffix: string;
  cities: { city: string; postal: () => string }[];
  street: (n: number, name: string) => string;
  streets: string[];
  phone: (rng: Rng) => string;
  banks: string[];
}

const LOCALES: Locale[] = [
  { country: 'DE', suffix: 'GmbH', cities: [{ city: 'Berlin', postal: () => '10115' }, { city: 'Hamburg', postal: () => '20095' }, { city: 'München', postal: () => '80331' }], streets: ['Hauptstraße', 'Lindenallee', 'Schillerstraße'], street: (n, s) => `${s} ${n}`, phone: (r) => `+49 30 5550 ${r.int(1000, 9999)}`, banks: ['Deutsche Bank', 'Sparkasse Berlin', 'GLS Bank'] },
  { country: 'FR', suffix: 'SAS', cities: [{ city: 'Paris', postal: () => '75011' }, { city: 'Lyon', postal: () => '69002' }], streets: ['rue de la République', 'avenue Jean Jaurès', 'rue Oberkampf'], street: (n, s) => `${n} ${s}`, phone: (r) => `+33 1 99 00 ${r.int(10, 99)} ${r.int(10, 99)}`, banks: ['BNP Paribas', 'Crédit Agricole'] },
  { country: 'NL', suffix: 'B.V.', cities: [{ city: 'Amsterdam', postal: () => '1012 AB' }, { city: 'Utrecht', postal: () => '3511 AA' }], streets: ['Keizersgracht', 'Oudegracht', 'Prinsengracht'], street: (n, s) => `${s} ${n}`, phone: (r) => `+31 20 555 ${r.int(1000, 9999)}`, banks: ['ING', 'Rabobank'] },
  { country: 'GB', suffix: 'Ltd', cities: [{ city: 'London', postal: () => 'EC1V 9HX' }, { city: 'Manchester', postal: () => 'M1 1AE' }], streets: ['High Street', 'Station Road', 'Church Lane'], street: (n, s) => `${n} ${s}`, phone: (r) => `+44 20 7946 0${r.int(100, 999)}`, banks: [] },
  { country: 'US', suffix: 'Inc.', cities: [{ city: 'Portland', postal: () => '97205' }, { city: 'Austin', postal: () => '78701' }, { city: 'Brooklyn', postal: () => '11201' }], streets: ['Main Street', 'Oak Avenue', 'Market Street'], street: (n, s) => `${n} ${s}`, phone: (r) => `+1 555-01${r.int(10, 99)}`, banks: [] },
];

const INTERNAL_NOTES = [
  'Prefers email over phone. Invoices go to the finance alias, not the contact.',
  'Asked twice about a non-profit discount; approved 20% until next renewal.',
  'Champion left the company in March; new contact is still evaluating alternatives.',
  'Migrated from WordPress with our help in 2024. Sensitive about downtime during their Monday send.',
  'Disputed one invoice after an accidental seat increase; refunded, resolved.',
  'Heavy newsletter user. Watch deliverability; they were flagged by one provider last year.',
  'Legal asked us to keep a copy of the DPA they signed in the shared drive.',
  'Renewal owner is the CFO. Do not change the plan without a written request.',
  'Uses the API for nightly imports from their CMS; breaks if keys rotate without notice.',
  '',
];

const SEATS_BY_PLAN: Record<Plan, [number, number]> = { free: [1, 1], starter: [1, 10], pro: [5, 100], enterprise: [100, 2000] };
const KEY_SCOPES = [['content:read'], ['content:read', 'content:write'], ['analytics:read'], ['newsletters:send']];

function apiKeys(rng: Rng, count: number, createdAfterDays: number): ApiKeyMetadata[] {
  return Array.from({ length: count }, () => {
    const created = rng.int(1, createdAfterDays);
    return {
      id: `key_${rng.chars(LOWER_ALNUM, 8)}`,
      prefix: `ak_live_${rng.chars(LOWER_ALNUM, 4)}`,
      createdAt: daysAgo(created, rng.int(0, 1000)),
      lastUsedAt: rng.chance(0.8) ? daysAgo(rng.int(0, Math.max(0, created - 1)), rng.int(0, 1000)) : null,
      scopes: rng.pick(KEY_SCOPES),
    };
  });
}

const slugify = (s: string): string =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

function seedCustomers(rng: Rng): Customer[] {
  const customers: Customer[] = [
    {
      id: FIXTURES.activeCustomer,
      name: 'Northwind Traders GmbH',
      status: 'active',
      plan: 'pro',
      seats: 25,
      renewalDate: '2025-09-01',
      createdAt: '2022-03-14T09:30:00.000Z',
      contact: { name: 'Greta Lindqvist', email: 'greta.lindqvist@northwind-traders.example', phone: '+49 30 5550 1234' },
      billingAddress: { line1: 'Friedrichstraße 123', line2: '4. OG', city: 'Berlin', postalCode: '10117', country: 'DE' },
      paymentMethod: { type: 'card', brand: 'visa', last4: '4242', expMonth: 8, expYear: 2027 },
      internalNotes: 'Key account. Renewal negotiation with procurement in August; no discounts above 15% without approval.',
      riskFlags: ['vip'],
      apiKeys: [
        { id: 'key_nw000001', prefix: 'ak_live_nw01', createdAt: '2023-01-10T08:00:00.000Z', lastUsedAt: '2025-06-29T22:15:00.000Z', scopes: ['content:read', 'content:write'] },
        { id: 'key_nw000002', prefix: 'ak_live_nw02', createdAt: '2024-11-02T13:45:00.000Z', lastUsedAt: null, scopes: ['analytics:read'] },
      ],
    },
    {
      id: FIXTURES.cancelledCustomer,
      name: 'Pebble & Twig Studio',
      status: 'cancelled',
      plan: 'free',
      seats: 1,
      renewalDate: null,
      createdAt: '2023-07-21T16:05:00.000Z',
      contact: { name: 'Tomás Ibarra', email: 'tomas@pebble-and-twig.example', phone: '+31 20 555 0199' },
      billingAddress: { line1: 'Oudegracht 221', line2: null, city: 'Utrecht', postalCode: '3511 NH', country: 'NL' },
      paymentMethod: { type: 'sepa_debit', bankName: 'Rabobank', ibanLast4: '3187' },
      internalNotes: 'Cancelled after the studio closed. Asked for their data to be deleted once the invoice dispute is settled.',
      riskFlags: ['payment_failed'],
      apiKeys: [],
    },
  ];

  for (let i = 0; i < 52; i++) {
    const locale = rng.pick(LOCALES);
    const stem = COMPANY_STEMS[i % COMPANY_STEMS.length]!;
    const name = `${stem} ${rng.pick(COMPANY_KINDS)} ${locale.suffix}`;
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    const domain = `${slugify(name.replace(locale.suffix, ''))}.example`;
    const status = rng.pick<CustomerStatus>(['active', 'active', 'active', 'trial', 'past_due', 'cancelled']);
    // Trials and overdue accounts are always on a paid plan.
    const plan: Plan = status === 'trial' || status === 'past_due' ? rng.pick<Plan>(['starter', 'pro']) : rng.pick<Plan>(['free', 'starter', 'starter', 'pro', 'pro', 'enterprise']);
    const [minSeats, maxSeats] = SEATS_BY_PLAN[plan];
    const createdDays = rng.int(30, 1400);
    const cityInfo = rng.pick(locale.cities);
    const riskFlags: RiskFlag[] = [];
    if (status === 'past_due') riskFlags.push('payment_failed');
    if (rng.chance(0.08)) riskFlags.push('chargeback');
    if (rng.chance(0.05)) riskFlags.push('fraud_review');
    if (rng.chance(0.04)) riskFlags.push('abuse_report');
    if (plan === 'enterprise' && rng.chance(0.5)) riskFlags.push('vip');
    let paymentMethod: PaymentMethod = null;
    if (plan !== 'free' || rng.chance(0.3)) {
      paymentMethod =
        locale.banks.length > 0 && rng.chance(0.5)
          ? { type: 'sepa_debit', bankName: rng.pick(locale.banks), ibanLast4: rng.chars('0123456789', 4) }
          : { type: 'card', brand: rng.pick(['visa', 'mastercard', 'amex'] as const), last4: rng.chars('0123456789', 4), expMonth: rng.int(1, 12), expYear: rng.int(2025, 2030) };
    }
    const renewal = plan === 'free' || status === 'cancelled' ? null : dateOnly(new Date(SEED_REFERENCE_DATE.getTime() + rng.int(1, 330) * DAY).toISOString());
    customers.push({
      id: `cus_${rng.chars(ALNUM, 12)}`,
      name,
      status,
      plan,
      seats: rng.int(minSeats, maxSeats),
      renewalDate: renewal,
      createdAt: daysAgo(createdDays, rng.int(0, 1000)),
      contact: { name: `${first} ${last}`, email: `${slugify(first)}.${slugify(last)}@${domain}`, phone: locale.phone(rng) },
      billingAddress: {
        line1: locale.street(rng.int(1, 240), rng.pick(locale.streets)),
        line2: rng.chance(0.3) ? `Suite ${rng.int(100, 900)}` : null,
        city: cityInfo.city,
        postalCode: cityInfo.postal(),
        country: locale.country,
      },
      paymentMethod,
      internalNotes: rng.pick(INTERNAL_NOTES),
      riskFlags,
      apiKeys: apiKeys(rng, plan === 'free' ? rng.int(0, 1) : rng.int(0, 3), createdDays),
    });
  }
  return customers;
}

// ---------------------------------------------------------------------------------------------
// Tickets and notes

const TICKET_TOPICS: { subject: string; message: string }[] = [
  { subject: 'Scheduled post did not go out', message: 'Our post was scheduled for 9:00 CET but it is still showing as scheduled. Can you check what happened?' },
  { subject: 'Invoice shows the wrong VAT number', message: 'The last two invoices have our old VAT number on them. Could you reissue them with the new one?' },
  { subject: 'Custom domain certificate expired', message: 'Visitors get a certificate warning on our blog since this morning. We did not change anything on our side.' },
  { subject: 'Cannot invite a new editor', message: 'When I invite our new editor the email never arrives. I tried two different addresses.' },
  { subject: 'Newsletter images broken in Outlook', message: 'Images in our newsletter show as broken attachments for readers using Outlook desktop.' },
  { subject: 'Request to export all our data', message: 'We are reviewing our vendors. Please send us a full export of our account data.' },
  { subject: 'API returns 429 during nightly import', message: 'Our nightly import started failing with 429 errors after we added a second publication.' },
  { subject: 'Charged twice this month', message: 'Our card statement shows two charges for June. Please refund the duplicate.' },
  { subject: 'Markdown tables lose alignment', message: 'Right-aligned columns in tables come out left-aligned on the published page.' },
  { subject: 'How do we downgrade to Starter?', message: 'We only have four writers now. How do we move to the Starter plan without losing our archive?' },
];

const NOTE_BODIES = [
  'Reproduced on staging. Escalated to the platform team.',
  'Sent the customer the workaround from the help centre; waiting for confirmation.',
  'Billing confirmed the duplicate charge; refund issued, takes 5–10 business days.',
  'Customer confirmed the fix works. Closing after 48 hours if nothing else comes up.',
  'Looks related to the mail provider outage on Tuesday.',
  'Asked for a screenshot and the browser version.',
];
const STAFF = ['support.amelie', 'support.bruno', 'support.chen', 'success.dana'];

function seedTickets(rng: Rng, customers: Customer[]): { tickets: Ticket[]; notes: TicketNote[] } {
  const tickets: Ticket[] = [];
  const notes: TicketNote[] = [];
  let sequence = 100001;
  const addTicket = (customer: Customer, status: TicketStatus, topic: { subject: string; message: string }, priority: TicketPriority): void => {
    const created = rng.int(2, 200);
    const updated = rng.int(0, created - 1);
    const ticket: Ticket = {
      id: `tkt_${sequence++}`,
      customerId: customer.id,
      subject: topic.subject,
      status,
      priority,
      createdAt: daysAgo(created, rng.int(0, 1000)),
      updatedAt: daysAgo(updated, rng.int(0, 600)),
      lastMessage: topic.message,
    };
    tickets.push(ticket);
    const noteCount = status === 'open' ? rng.int(0, 2) : rng.int(1, 3);
    for (let n = 0; n < noteCount; n++) {
      notes.push({
        id: `note_${rng.chars(LOWER_ALNUM, 10)}`,
        ticketId: ticket.id,
        author: rng.pick(STAFF),
        body: rng.pick(NOTE_BODIES),
        visibility: rng.chance(0.7) ? 'internal' : 'public',
        createdAt: daysAgo(updated, rng.int(0, 600) + (noteCount - n) * 30),
      });
    }
  };

  const [northwind] = customers;
  addTicket(northwind!, 'open', TICKET_TOPICS[0]!, 'high'); // FIXTURES.openTicket
  addTicket(northwind!, 'closed', TICKET_TOPICS[1]!, 'normal'); // FIXTURES.closedTicket
  addTicket(northwind!, 'pending', TICKET_TOPICS[6]!, 'normal');
  addTicket(customers[1]!, 'solved', TICKET_TOPICS[5]!, 'low'); // Pebble & Twig's data export request
  for (const customer of customers.slice(1)) {
    if (!rng.chance(0.7)) continue;
    const count = rng.int(1, 4);
    for (let i = 0; i < count; i++) {
      addTicket(customer, rng.pick<TicketStatus>(['open', 'pending', 'solved', 'closed', 'closed']), rng.pick(TICKET_TOPICS), rng.pick<TicketPriority>(['low', 'normal', 'normal', 'high', 'urgent']));
    }
  }
  return { tickets, notes };
}

/** Builds the seed from scratch; the same output for the same `seed`. */
export function createSeed(seed: number = SEED): SeedData {
  const rng = createRng(seed);
  const { drafts, posts } = seedDraftsAndPosts(rng);
  const customers = seedCustomers(rng);
  const { tickets, notes } = seedTickets(rng, customers);
  return { drafts, posts, customers, tickets, notes };
}
