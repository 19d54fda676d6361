// Checks the two build outputs against what the server and the report writer rely on:
// the console's index.html has no inline script or style (strict CSP), and report.html is
// one file carrying the report-data placeholder exactly once and no external reference.
import { readFileSync } from 'node:fs';

const fail = (msg) => {
  console.error(`check-build: ${msg}`);
  process.exit(1);
};

const index = readFileSync('dist/index.html', 'utf8');
if (/<style[\s>]/i.test(index)) fail('dist/index.html contains an inline <style> element');
for (const m of index.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
  if (!/\bsrc=/.test(m[1]) || m[2].trim() !== '') fail('dist/index.html contains an inline <script>');
}
if (/\sstyle=/i.test(index)) fail('dist/index.html contains a style attribute');

const report = readFileSync('dist-report/report.html', 'utf8');
const placeholder = '/*STRATBOX_REPORT_' + 'JSON*/null';
const count = report.split(placeholder).length - 1;
if (count !== 1) fail(`dist-report/report.html has the placeholder ${count} times (want 1)`);
if (!report.includes('<script type="application/json" id="report-data">' + placeholder + '</script>')) {
  fail('dist-report/report.html: the report-data element does not hold the placeholder');
}
if (/<script\b[^>]*\bsrc=/i.test(report) || /<link\b[^>]*\bhref="(?!data:)/i.test(report)) {
  fail('dist-report/report.html references an external file');
}
console.log('check-build: dist/index.html (no inline script/style), dist-report/report.html (self-contained, placeholder once)');
