#!/usr/bin/env bash
# The rules of Grafana's dashboard linter (grafana/dashboard-linter) and the project's own, checked on
# dashboards/acmon.json: a templated data source used by every panel, target and query variable; job
# and instance variables (multi, All = .+) and matchers in every selector; rate() over
# $__rate_interval and counters only inside rate/irate/increase; a unit and a one-line description
# on every panel; the account/product/region/collector variables (All = .*, which matches the empty
# region of SMC and PolarDB series) applied to every selector of a metric that has the label;
# collapsible rows. Then copies of the dashboard with one fault each must be refused, so that every
# rule is seen to fail.
#   dashboard_lint.sh SOURCE_DIR
set -uo pipefail
src=$1
work=$(mktemp -d)
. "$(dirname "$0")/../lib.sh"
trap 'rm -rf "$work"' EXIT

# lint FILE: prints "ok RULE" or "FAIL RULE: why" lines, one per rule.
cat >"$work/lint.js" <<'JS'
const fs = require('fs');
const [file, golden] = process.argv.slice(2);
const d = JSON.parse(fs.readFileSync(file, 'utf8'));
const results = [];
function rule(name, problems) {
  results.push(problems.length ? `FAIL ${name}: ${problems.slice(0, 5).join('; ')}` : `ok ${name}`);
}
const vars = (d.templating && d.templating.list) || [];
const byName = Object.fromEntries(vars.map((v) => [v.name, v]));
const all = [];
for (const p of d.panels || []) {
  all.push(p);
  for (const q of p.panels || []) all.push(q);
}
const rows = all.filter((p) => p.type === 'row');
const panels = all.filter((p) => p.type !== 'row');
const targets = panels.flatMap((p) => (p.targets || []).map((t) => ({ p, t })));
const dsUid = (o) => o && o.datasource && (typeof o.datasource === 'string' ? o.datasource : o.datasource.uid);
const isDsVar = (u) => u === '${datasource}' || u === '$datasource';

// Data source
const ds = byName.datasource;
rule('template-datasource', ds && ds.type === 'datasource' && ds.query === 'prometheus' && ds.label === 'Data source'
  ? [] : ['no variable "datasource" of type datasource, query prometheus, label "Data source"']);
const fixed = [];
(function walk(o, path) {
  if (!o || typeof o !== 'object') return;
  if (o.datasource && typeof o.datasource === 'object' && o.datasource.type === 'prometheus' && !isDsVar(o.datasource.uid)) fixed.push(`${path}: ${o.datasource.uid}`);
  for (const [k, v] of Object.entries(o)) walk(v, `${path}/${k}`);
})(d, '');
// The import input DS_PROMETHEUS (Grafana's import form asks for a Prometheus) may only set where
// the datasource variable starts; a panel or query naming it would be bound at import for good.
const { __inputs: inputs, ...rest } = d;
const elsewhere = JSON.parse(JSON.stringify(rest));
for (const v of (elsewhere.templating && elsewhere.templating.list) || []) if (v.name === 'datasource') delete v.current;
if (JSON.stringify(elsewhere).includes('DS_PROMETHEUS')) fixed.push('DS_PROMETHEUS used beyond where the datasource variable starts');
rule('no-fixed-datasource', fixed);
const input = (inputs || []).find((i) => i.name === 'DS_PROMETHEUS');
rule('import-asks-for-prometheus', input && input.type === 'datasource' && input.pluginId === 'prometheus' &&
  (inputs || []).length === 1 && ds && ds.current && ds.current.value === '${DS_PROMETHEUS}'
  ? [] : ['no single import input DS_PROMETHEUS (type datasource, plugin prometheus) where the datasource variable starts']);
rule('panel-datasource', panels.filter((p) => !isDsVar(dsUid(p)) || (p.datasource.type !== 'prometheus'))
  .map((p) => `panel '${p.title}' uses ${JSON.stringify(p.datasource)}`));
rule('target-datasource', targets.filter(({ t }) => !isDsVar(dsUid(t))).map(({ p, t }) => `'${p.title}' ${t.refId}`));

// Variables
const needed = { job: '.+', instance: '.+', account: '.*', product: '.*', region: '.*', collector: '.*' };
const varProblems = [];
for (const [name, allValue] of Object.entries(needed)) {
  const v = byName[name];
  if (!v) { varProblems.push(`no variable ${name}`); continue; }
  const label = name[0].toUpperCase() + name.slice(1);
  if (v.type !== 'query') varProblems.push(`${name} is no query variable`);
  if (!isDsVar(dsUid(v))) varProblems.push(`${name} does not use \${datasource}`);
  if (!v.multi || !v.includeAll) varProblems.push(`${name} is not multi-select with All`);
  if (v.allValue !== allValue) varProblems.push(`${name}'s All is '${v.allValue}', not '${allValue}'`);
  if (v.label !== label) varProblems.push(`${name} is labelled '${v.label}', not '${label}'`);
  if (v.refresh !== 2) varProblems.push(`${name} is not refreshed on time range change`);
  const q = typeof v.query === 'string' ? v.query : (v.query && v.query.query) || '';
  if (name !== 'job' && !q.includes('job=~"$job"')) varProblems.push(`${name}'s query does not filter job`);
  if (!['job', 'instance'].includes(name) && !q.includes('instance=~"$instance"')) varProblems.push(`${name}'s query does not filter instance`);
}
rule('template-variables', varProblems);
// The account variable: display names from acmon_account_info where present, else the accounts of the
// collector series; Grafana's query_result lines, {labels} value timestamp, give value and text.
const acc = byName.account || {};
const accProblems = [];
const accQuery = typeof acc.query === 'string' ? acc.query : '';
if (!/^query_result\(.*acmon_account_info\{.*\bor on \(account\).*acmon_collector_up\{/.test(accQuery)) accProblems.push(`query ${accQuery}`);
try {
  const m = acc.regex.match(/^\/(.*)\/([a-z]*)$/);
  const re = new RegExp(m[1], m[2]);
  const pick = (line) => { const g = (line.match(re) || {}).groups || {}; return [g.value ?? g.text, g.text ?? g.value]; };
  const a = pick('{account="1234567890123456",display_name="Shop \\u00e9 prod"} 1 1700000000000');
  const b = pick('{account="mgmt"} 1 1700000000000');
  if (a[0] !== '1234567890123456' || a[1] !== 'Shop \\u00e9 prod') accProblems.push(`member line gives ${a}`);
  if (b[0] !== 'mgmt' || b[1] !== 'mgmt') accProblems.push(`plain line gives ${b}`);
} catch (e) { accProblems.push(`regex ${acc.regex}: ${e.message}`); }
rule('account-variable', accProblems);
rule('template-on-time-change-reload', vars.filter((v) => v.type === 'query' && v.refresh !== 2).map((v) => v.name));

// Panels
const units = new Set(['none', 'short', 'percent', 'percentunit', 's', 'ms', 'm', 'h', 'd', 'dtdurations', 'bytes',
  'reqps', 'ops', 'cps', 'cpm', 'rps', 'bool', 'bool_yes_no', 'bool_on_off', 'dateTimeAsIso', 'dateTimeFromNow']);
rule('panel-units', panels.filter((p) => !units.has(p.fieldConfig && p.fieldConfig.defaults && p.fieldConfig.defaults.unit))
  .map((p) => `'${p.title}' unit ${JSON.stringify(p.fieldConfig && p.fieldConfig.defaults && p.fieldConfig.defaults.unit)}`));
rule('panel-title-description', panels.filter((p) => !p.title || !p.description || /\n/.test(p.description) || p.description.length > 250)
  .map((p) => `'${p.title}' description ${JSON.stringify(p.description)}`));
rule('panel-no-targets', panels.filter((p) => !(p.targets || []).some((t) => t.expr)).map((p) => `'${p.title}'`));
const ids = all.map((p) => p.id);
rule('panel-ids-unique', ids.filter((x, i) => ids.indexOf(x) !== i).map((x) => `id ${x}`));

// Rows: the dashboard opens with a row, every row has a title, and some rows start collapsed (their
// panels inside them, as Grafana keeps them).
const rowProblems = [];
if (rows.length < 4) rowProblems.push(`${rows.length} rows`);
if (!d.panels || !d.panels.length || d.panels[0].type !== 'row') rowProblems.push('the first panel is no row');
for (const r of rows) {
  if (!r.title) rowProblems.push(`row ${r.id} has no title`);
  if (typeof r.collapsed !== 'boolean') rowProblems.push(`row '${r.title}' has no collapsed flag`);
  if (r.collapsed && !(r.panels || []).length) rowProblems.push(`collapsed row '${r.title}' holds no panels`);
  if (!r.collapsed && (r.panels || []).length) rowProblems.push(`open row '${r.title}' holds panels`);
}
if (!rows.some((r) => r.collapsed)) rowProblems.push('no collapsed row');
rule('rows', rowProblems);

// Targets. Selectors: a metric name, optionally followed by {matchers}.
const selectors = (expr) => {
  const out = [];
  const re = /\b((?:acmon|process)_[a-z_]+)\b(\{([^}]*)\})?/g;
  let m;
  while ((m = re.exec(expr))) out.push({ metric: m[1], matchers: m[3], end: re.lastIndex });
  return out;
};
// The labels each metric family has, from the golden /metrics file (what acmon really exports), plus
// what the SPEC gives where the golden file has no such series.
const labels = {};
for (const line of fs.readFileSync(golden, 'utf8').split('\n')) {
  const t = line.match(/^# TYPE ([a-z_]+) (\w+)/);
  if (t) {
    labels[t[1]] = new Set();
    if (t[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) labels[t[1] + s] = new Set(['le']);
    continue;
  }
  const m = line.match(/^([a-z_]+)(?:\{(.*)\})? /);
  if (!m || !labels[m[1]]) continue;
  for (const l of (m[2] || '').matchAll(/([a-z_]+)="/g)) labels[m[1]].add(l[1]);
}
const codeLike = ['account', 'product', 'id', 'region', 'order_id'];
labels.acmon_code_exhaustion_forecast_timestamp_seconds = new Set(codeLike);
labels.acmon_api_retries_total = new Set(['product', 'action']);
labels.acmon_account_info = new Set(['account', 'organization', 'display_name', 'status', 'folder_id']);
labels.acmon_alert_active = new Set([...(labels.acmon_alert_active || []), 'region', 'order_id', 'collector']);
const has = (metric, l) => (labels[metric] || new Set()).has(l);
const jobProblems = [], rateProblems = [], counterProblems = [], hardProblems = [], varUse = [], unknown = [];
for (const { p, t } of targets) {
  const e = t.expr;
  const where = `'${p.title}' ${t.refId}`;
  for (const s of selectors(e)) {
    if (!labels[s.metric]) unknown.push(`${where}: ${s.metric}`);
    const mm = s.matchers || '';
    if (!mm.includes('job=~"$job"') || !mm.includes('instance=~"$instance"')) jobProblems.push(`${where}: ${s.metric}{${mm}}`);
    // Every variable whose label the metric has filters it (collector: directly or through the scopes).
    for (const v of ['account', 'product', 'region', 'collector']) {
      if (!has(s.metric, v)) continue;
      if (v === 'collector' && !s.metric.startsWith('acmon_collector_')) continue;
      if (!mm.includes(`${v}=~"$${v}"`)) varUse.push(`${where}: ${s.metric} not filtered by $${v}`);
    }
    if (s.metric.endsWith('_total') && !/^\[[^\]]+\]/.test(e.slice(s.end))) counterProblems.push(`${where}: ${s.metric} without a range`);
  }
  // Code and alert series have no collector label: the target must keep only the chosen collectors' scopes.
  if (selectors(e).some((s) => has(s.metric, 'account')) && !/acmon_collector_[a-z_]+\{[^}]*collector=~"\$collector"/.test(e))
    varUse.push(`${where}: not filtered by $collector`);
  for (const m of e.matchAll(/\b(\w+)\(\s*[a-z_]+(?:\{[^}]*\})?\[([^\]]*)\]/g)) {
    if (['rate', 'irate'].includes(m[1]) && m[2] !== '$__rate_interval') rateProblems.push(`${where}: ${m[1]}(…[${m[2]}])`);
    if (!['rate', 'irate', 'increase'].includes(m[1])) counterProblems.push(`${where}: ${m[1]}() over a range`);
    if (!m[2].startsWith('$__')) rateProblems.push(`${where}: fixed range [${m[2]}]`);
  }
  if (/\b(job|instance)\s*(=|!=|=~|!~)\s*"(?!\$job"|\$instance")/.test(e)) hardProblems.push(`${where}: ${e}`);
}
rule('target-job-instance', jobProblems);
rule('target-rate-interval', rateProblems);
rule('target-counter-agg', counterProblems);
rule('no-hard-coded-job-instance', hardProblems);
rule('target-variables', varUse);
rule('known-metrics', unknown);
// Every variable is used by the panels (the data source by their datasource, the others in queries).
const exprs = targets.map(({ t }) => t.expr).join('\n');
rule('variables-used', vars.filter((v) => v.type !== 'datasource' && !exprs.includes(`"$${v.name}"`)).map((v) => v.name));
console.log(results.join('\n'));
JS
lint() { node "$work/lint.js" "$1" "$src/tests/golden/metrics.prom"; }

dash=$src/dashboards/acmon.json
check "the dashboard is valid JSON" "node -e 'JSON.parse(require(\"fs\").readFileSync(\"$dash\",\"utf8\"))'"
n=$(json_eval 'let n=0;for(const p of d.panels){if(p.type!=="row")n++;for(const q of p.panels||[])n++}console.log(n)' <"$dash")
check "the dashboard has at least 16 panels besides rows ($n)" "[ '${n:-0}' -ge 16 ]"
while read -r status name rest; do
  [ "$status" = ok ] && ok "$name" || bad "$name $rest"
done < <(lint "$dash")

# Each fault must be found by its rule: mutate NAME RULE JS-EDITING-d
mutate() {
  local name=$1 want=$2
  node -e "
const fs=require('fs');const d=JSON.parse(fs.readFileSync('$dash','utf8'));
const all=[];for(const p of d.panels){all.push(p);for(const q of p.panels||[])all.push(q)}
const panels=all.filter(p=>p.type!=='row');const v=n=>d.templating.list.find(x=>x.name===n);
$3
fs.writeFileSync('$work/bad.json',JSON.stringify(d));"
  if lint "$work/bad.json" | grep -q "^FAIL $want"; then ok "refused: $name ($want)"; else bad "not refused: $name ($want)"; fi
}
mutate "a panel with a fixed data source" panel-datasource 'panels[3].datasource={type:"prometheus",uid:"P1809F7CD0C75ACF3"}'
mutate "a panel bound to the import input" no-fixed-datasource 'panels[3].datasource={type:"prometheus",uid:"\${DS_PROMETHEUS}"}'
mutate "no import input" import-asks-for-prometheus 'delete d.__inputs'
mutate "a target with a fixed data source" target-datasource 'panels[5].targets[0].datasource={type:"prometheus",uid:"prom"}'
mutate "no datasource variable" template-datasource 'd.templating.list=d.templating.list.filter(x=>x.type!=="datasource")'
mutate "a panel without a unit" panel-units 'delete panels[1].fieldConfig.defaults.unit'
mutate "a panel without a description" panel-title-description 'delete panels[2].description'
mutate "rate over a fixed window" target-rate-interval 'const t=panels.find(p=>/rate\(/.test(p.targets[0].expr)).targets[0];t.expr=t.expr.replace("\$__rate_interval","5m")'
mutate "a counter without rate" target-counter-agg 'const t=panels.find(p=>/_total/.test(p.targets[0].expr)).targets[0];t.expr=t.expr.replace(/rate\(([^\[]*)\[\$__rate_interval\]\)/,"\$1")'
mutate "a hard-coded instance" no-hard-coded-job-instance 'panels[0].targets[0].expr=panels[0].targets[0].expr.replace("instance=~\"\$instance\"","instance=\"127.0.0.1:9091\"")'
mutate "a selector without job" target-job-instance 'panels[4].targets[0].expr=panels[4].targets[0].expr.replace("job=~\"\$job\", ","")'
mutate "region not applied" target-variables 'for(const p of panels)for(const t of p.targets)t.expr=t.expr.replace(", region=~\"\$region\"","")'
mutate "collector not applied to code series" target-variables 'panels[0].targets[0].expr="count by (state) (acmon_code_info{job=~\"\$job\", instance=~\"\$instance\", account=~\"\$account\", product=~\"\$product\", region=~\"\$region\"})"'
mutate "region's All does not match an empty label" template-variables 'v("region").allValue=".+"'
mutate "a variable that is not multi-select" template-variables 'v("account").multi=false'
mutate "a variable no panel uses" variables-used 'd.templating.list.push(Object.assign({},v("region"),{name:"zone",label:"Zone"}))'
mutate "the account variable without display names" account-variable 'v("account").regex=""'
mutate "no collapsed row" rows 'for(const r of d.panels.filter(p=>p.type==="row")){d.panels.push(...r.panels);r.panels=[];r.collapsed=false}'
mutate "an unknown metric" known-metrics 'panels[6].targets[0].expr="sum(acmon_codes_total_info{job=~\"\$job\", instance=~\"\$instance\"})"'

finish
