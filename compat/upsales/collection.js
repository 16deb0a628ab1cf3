// Replays Upsales' official Postman collection ("Upsales API", kept in the vendor specs folder as
// upsales-v2.postman-collection.json) against a running Kith with newman: the requests' host is
// rewritten to Kith's, the example ids in paths and bodies are replaced by ids of records this run
// made (ids chained through collection variables), and each answer is checked against the shape
// of the collection's example answer: the same envelope keys, and every key of the example's
// record except those Kith does not keep (listed below, with the reason). Requests Kith does not
// serve are listed in SKIPPED with the reason, and printed; none is dropped silently.
//
// Needs KITH_URL, KITH_API_KEY and the collection's path as the first argument.
'use strict';

const fs = require('fs');
const newman = require('newman');

const [collectionPath] = process.argv.slice(2);
const BASE = process.env.KITH_URL;
const KEY = process.env.KITH_API_KEY;
if (!collectionPath || !BASE || !KEY) {
  console.error('usage: KITH_URL=… KITH_API_KEY=… node collection.js upsales-v2.postman-collection.json');
  process.exit(2);
}
const source = JSON.parse(fs.readFileSync(collectionPath, 'utf8'));

// Requests of the collection Kith does not serve, by folder (or folder/name), and why.
const SKIPPED = [
  ['Use cases/Subscriptions', 'subscriptions (agreements) are not kept'],
  ['Subscriptions', 'subscriptions (agreements) are not kept'],
  ['Price Lists', 'price lists are not kept'],
  ['Products/With price lists', 'price lists are not kept'],
  ['Products/Create Bundle', 'product bundles are not kept'],
  ['Users/Get user', 'user administration (/master/users) is not served over Upsales'],
  ['Users/Create user', 'user administration (/master/users) is not served over Upsales'],
  ['Users/Update user', 'user administration (/master/users) is not served over Upsales'],
  ['Users/Deactivate user', 'user administration (/master/users) is not served over Upsales'],
  ['Event', 'social events are not kept'],
  ['NPS', 'NPS answers are not kept'],
  ['Upload documents', 'file uploads are not served over Upsales'],
  ['User defined object', 'user-defined objects are not kept'],
  ['User defined object field', 'user-defined objects are not kept'],
  ['User defined object instance', 'user-defined objects are not kept'],
];
// Custom fields of these entities are listed (empty) but not kept: only their GET is replayed.
const UNKEPT_FIELDS = ['Activity', 'Appointment', 'Order row', 'Product', 'Campaign', 'User', 'Recurring revenue'];

// Keys of the examples' records that Kith does not render, and why.
const NOT_RENDERED = {
  connectedClients: 'account connections are not kept',
  soliditet: 'credit data is an Upsales enrichment',
  externalClientData: 'an Upsales enrichment',
  hadOrder: 'order history flags are not kept', hasOrder: 'order history flags are not kept',
  hadOpportunity: 'history flags are not kept', hasOpportunity: 'history flags are not kept',
  hadActivity: 'history flags are not kept', hasActivity: 'history flags are not kept',
  hadAppointment: 'history flags are not kept', hasAppointment: 'history flags are not kept',
  hasMail: 'marketing data is not kept', hasForm: 'marketing data is not kept', hasVisit: 'marketing data is not kept',
  optIn: 'marketing data is not kept', optInForm: 'marketing data is not kept',
  unsubscribedMailCampaign: 'marketing data is not kept', importId: 'imports are not tracked per record',
  mailBounces: 'marketing data is not kept', emailBounceReason: 'marketing data is not kept',
  assigned: 'lead assignment is not kept', processedBy: 'lead processing is not kept',
  sniCode: 'enrichment codes are not kept', sicCode: 'enrichment codes are not kept',
  naicsCode: 'enrichment codes are not kept', naceCode: 'enrichment codes are not kept',
  ads: 'marketing data is not kept', growth: 'an Upsales enrichment', adCampaign: 'marketing data is not kept',
  monthlyValue: 'recurring values are not computed', annualValue: 'recurring values are not computed',
  oneOffValue: 'recurring values are not computed',
  lastOnline: 'login history is not kept', lastOnlinePower: 'login history is not kept',
  features: 'Upsales product features', products: 'Upsales product licences', whitelabel: 'Upsales branding',
  accessRights: 'Upsales rights', boxid: 'an Upsales integration', language: 'user languages are not kept',
  userAddress: 'kept as null', time: 'kept as null', closeTime: 'kept as null', crm: 'licences are not kept',
  unreleasedFeatures: 'Upsales product features', accountManager: 'Upsales account management',
  ukSicCode: 'enrichment codes are not kept', cfar: 'an Upsales enrichment', prospecting: 'an Upsales enrichment',
  prospectingId: 'an Upsales enrichment', prospectingUpdateDate: 'an Upsales enrichment',
  about: 'an Upsales enrichment', headquarters: 'an Upsales enrichment',
};

const unserved = (path) => SKIPPED.find(([p]) => path === p || path.startsWith(p + '/'));

// The collection's "Create appointment type" posts to /activitytypes/activity while the
// requests after it read and change /activitytypes/appointment/{{id}}: the replay makes the
// appointment type they change.
// The merge names two types: the one the folder made (merged away, its appointments moved) and
// the one the setup made (kept).
const URL_FIXES = {
  'Appointment types/Create appointment type': (u) => u.replace('/activitytypes/activity?', '/activitytypes/appointment?'),
  'Appointment types/Merge appointment type': (u) =>
    u.replace('{{id}}', '{{id_activitytypes_appointment}}').replace('{{id2}}', '{{appointmentTypeId}}'),
};

// The resource a URL names (`clientcategorytypes`, `activitytypes_appointment`): each keeps the
// id its create returned in a variable of its own, so that a folder with two resources (extra
// categories and category values) points each request at a record of its own kind.
const resourceOf = (url) => {
  const path = url.replace(/^.*\/api\/v2\//, '').split('?')[0].split('/{{')[0];
  return 'id_' + path.replace(/\/+$/, '').toLowerCase().replace(/[^a-z0-9]+/g, '_');
};

const rewriteUrl = (raw) => {
  const url = raw.replace(/^https:\/\/integration\.upsales\.com\/api\/v2\//, '{{base}}/api/v2/')
    .replace('{{2}}', '{{id}}')
    .replace(/\{\{(phoneCallID|todoID)\}\}/g, '{{id}}');
  return url.replace('{{id}}', `{{${resourceOf(url)}}}`);
};

// A body's relations and custom-field ids, pointed at this run's records (an `activityType` at
// an activity type, or at an appointment type in an appointment's body).
const RELATION_VARS = { user: 'userId', users: 'userId', client: 'clientId', stage: 'stageId', product: 'productId', contact: 'contactId', contacts: 'contactId', activityType: 'activityTypeId' };
function patchBody(raw, url) {
  const patched = patchRelations(raw);
  return url && /\/appointments/.test(url) ? patched.replace(/\{\{activityTypeId\}\}/g, '{{appointmentTypeId}}') : patched;
}
function patchRelations(raw) {
  if (!raw || !raw.trim()) return raw;
  let body;
  try { body = JSON.parse(raw); } catch (e) { return raw; }
  const walk = (v) => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out = {};
      for (const [k, x] of Object.entries(v)) {
        if (RELATION_VARS[k] && x && typeof x === 'object' && !Array.isArray(x) && 'id' in x) {
          out[k] = { id: `@@${RELATION_VARS[k]}@@` };
        } else if (RELATION_VARS[k] && typeof x === 'number') {
          out[k] = `@@${RELATION_VARS[k]}@@`;
        } else if (RELATION_VARS[k] && Array.isArray(x)) {
          out[k] = x.map(() => ({ id: `@@${RELATION_VARS[k]}@@` }));
        } else if (k === 'fieldId') {
          out[k] = '@@customFieldId@@';
        } else {
          out[k] = walk(x);
        }
      }
      return out;
    }
    return v;
  };
  return JSON.stringify(walk(body), null, 2).replace(/"@@(\w+)@@"/g, '{{$1}}');
}

// A test script: the status, the envelope and the record's keys against the example's.
function checks(example, setVar) {
  let ex = null;
  try { ex = example && example.body ? JSON.parse(example.body) : null; } catch (e) { ex = null; }
  const lines = [
    'const got = pm.response.json();',
    "pm.test('200 with error null', () => { pm.response.to.have.status(200); pm.expect(got.error ?? got.errors ?? null).to.equal(null); });",
  ];
  if (ex && typeof ex === 'object') {
    const envelope = Object.keys(ex);
    lines.push(`pm.test('envelope ${envelope.join(',')}', () => { for (const k of ${JSON.stringify(envelope)}) pm.expect(got).to.have.property(k); });`);
    const record = Array.isArray(ex.data) ? ex.data[0] : ex.data;
    if (record && typeof record === 'object' && !Array.isArray(record)) {
      const keys = Object.keys(record).filter((k) => !(k in NOT_RENDERED));
      lines.push(`const rec = Array.isArray(got.data) ? got.data[0] : got.data;`);
      lines.push(`pm.test('data is ${Array.isArray(ex.data) ? 'a list' : 'a record'}', () => pm.expect(Array.isArray(got.data)).to.equal(${Array.isArray(ex.data)}));`);
      lines.push(`if (rec) pm.test('record keys of the example', () => pm.expect(${JSON.stringify(keys)}.filter((k) => !(k in rec)), 'missing keys').to.eql([]));`);
    }
  }
  if (setVar) lines.push(`if (got.data && got.data.id) pm.collectionVariables.set('${setVar}', got.data.id);`);
  return { listen: 'test', script: { type: 'text/javascript', exec: lines } };
}

function request(name, method, url, body, example, setVar) {
  const req = { method, url: rewriteUrl(url), header: [{ key: 'Content-Type', value: 'application/json' }] };
  if (body !== undefined) req.body = { mode: 'raw', raw: body };
  return { name, request: req, event: [checks(example, setVar)] };
}

// The records the chained requests point at, made first.
const setup = {
  name: 'Setup (Kith)',
  item: [
    request('self', 'GET', 'https://integration.upsales.com/api/v2/self?token={{token}}', undefined, null, null),
    request('a client', 'POST', 'https://integration.upsales.com/api/v2/accounts?token={{token}}',
      '{"name": "Compat client"}', null, 'clientId'),
    request('a contact', 'POST', 'https://integration.upsales.com/api/v2/contacts?token={{token}}',
      '{"name": "Compat Contact", "client": {"id": {{clientId}}}}', null, 'contactId'),
    request('a stage', 'POST', 'https://integration.upsales.com/api/v2/orderstages?token={{token}}',
      '{"name": "Compat stage", "probability": 25}', null, 'stageId'),
    request('a product', 'POST', 'https://integration.upsales.com/api/v2/products?token={{token}}',
      '{"name": "Compat product", "listPrice": 100}', null, 'productId'),
    request('an account field', 'POST', 'https://integration.upsales.com/api/v2/customfields/account?token={{token}}',
      '{"name": "Compat field", "datatype": "String"}', null, 'customFieldId'),
    request('an activity type', 'POST', 'https://integration.upsales.com/api/v2/activitytypes/activity?token={{token}}',
      '{"name": "Compat task"}', null, 'activityTypeId'),
    request('an appointment type', 'POST', 'https://integration.upsales.com/api/v2/activitytypes/appointment?token={{token}}',
      '{"name": "Compat meeting"}', null, 'appointmentTypeId'),
  ],
};
setup.item[0].event[0].script.exec.push("pm.collectionVariables.set('userId', got.data.id);");

const skipped = [];
const folders = [];
function collect(items, path) {
  const leaves = [];
  for (const it of items) {
    const p = path ? `${path}/${it.name}` : it.name;
    if (it.item) { collect(it.item, p); continue; }
    const why = unserved(p);
    const r = it.request;
    const url = typeof r.url === 'string' ? r.url : r.url.raw;
    const fieldsOf = p.match(/^Custom fields\/([^/]+)\//);
    if (why) { skipped.push([p, why[1]]); continue; }
    if (fieldsOf && UNKEPT_FIELDS.includes(fieldsOf[1]) && r.method !== 'GET') {
      skipped.push([p, `custom fields of ${fieldsOf[1].toLowerCase()} are listed (empty) but not kept`]);
      continue;
    }
    const example = (it.response || []).find((x) => x.code === 200) || null;
    const fixed = URL_FIXES[p] ? URL_FIXES[p](url) : url;
    const creates = r.method === 'POST' ? resourceOf(fixed) : null;
    leaves.push(request(p, r.method, fixed, r.body && r.body.raw !== undefined ? patchBody(r.body.raw, fixed) : undefined, example, creates));
  }
  if (leaves.length) {
    // Within a folder: creates first (each sets its resource's id), deletes last.
    const rank = (l) => ({ POST: 0, GET: 1, PUT: 2, DELETE: 3 })[l.request.method] ?? 1;
    leaves.sort((a, b) => rank(a) - rank(b));
    folders.push({ name: path, item: leaves });
  }
}
collect(source.item, '');

const collection = {
  info: { name: 'Upsales API against Kith', schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json' },
  variable: [{ key: 'base', value: BASE }, { key: 'token', value: KEY }],
  item: [setup, ...folders],
};

for (const [p, why] of skipped) console.log(`skipped: ${p} — ${why}`);
newman.run({ collection, reporters: ['cli'], reporter: { cli: { noSummary: false } } }, (err, summary) => {
  if (err) { console.error(err); process.exit(1); }
  const failures = summary.run.failures.length;
  const served = folders.reduce((n, f) => n + f.item.length, 0);
  console.log(`upsales collection: ${served} requests replayed, ${skipped.length} skipped, ${failures} failures`);
  process.exit(failures ? 1 : 0);
});
