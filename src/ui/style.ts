// The rules too long for one source line, each written in parts and placed below by name.
const FIELDS =
  'input[type=text], input[type=password], input[type=search], input[type=number], textarea, select ' +
  '{ display: block; width: 100%; margin-top: .25rem; padding: .4rem .5rem; ' +
  'font: inherit; font-weight: normal; border: 1px solid var(--line); border-radius: 4px; }';
const BUTTONS =
  'button, .button { display: inline-block; padding: .45rem 1rem; font: inherit; border-radius: 4px; ' +
  'border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; }';
const LABEL_PILLS =
  'a.label { display: inline-block; padding: .05rem .45rem; border-radius: 999px; background: var(--bg-soft); ' +
  'border: 1px solid var(--line); font-size: .85em; text-decoration: none; color: var(--fg); }';

/** The console's one stylesheet, served at /ui/style.css (the CSP allows no inline style). */
export const STYLE = `
:root { color-scheme: light; --fg: #1d2330; --muted: #5d6678; --line: #d9dee7; --accent: #1f5fbf; --danger: #b3261e; --bg-soft: #f4f6fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); }
header { display: flex; gap: 2rem; align-items: center; padding: .7rem 1.5rem; background: #16202f; }
header a { color: #e8edf6; text-decoration: none; }
header .brand { font-weight: 700; letter-spacing: .02em; }
header nav { display: flex; gap: 1.2rem; }
main { max-width: 62rem; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.5rem; margin: .6rem 0 1rem; }
h2 { font-size: 1.1rem; margin-top: 2rem; }
a { color: var(--accent); }
code { font-size: .9em; }
.notice { background: #e7f5ea; border: 1px solid #a7d7b1; padding: .5rem .8rem; border-radius: 4px; }
.error { background: #fdecea; border: 1px solid #f1aaa4; color: #5f1410; padding: .6rem .8rem; border-radius: 4px; margin-bottom: 1rem; }
.error .message { font-family: ui-monospace, monospace; font-size: .9em; word-break: break-word; }
.hint, small, .count { color: var(--muted); }
form label { display: block; margin: .8rem 0; font-weight: 600; }
form label small { display: block; font-weight: normal; }
${FIELDS}
textarea.pem { font-family: ui-monospace, monospace; font-size: .85em; }
fieldset { border: 1px solid var(--line); border-radius: 4px; margin: 1rem 0; }
${BUTTONS}
.danger { background: var(--danger); border-color: var(--danger); color: #fff; }
.confirm { display: flex; gap: 1rem; align-items: center; }
.filters { display: flex; gap: 1rem; align-items: flex-end; flex-wrap: wrap; }
.filters label { flex: 1 1 14rem; margin: 0; }
table.secrets { width: 100%; border-collapse: collapse; margin-top: .5rem; }
table.secrets th, table.secrets td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
table.secrets th { background: var(--bg-soft); font-size: .85em; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
ul.labels { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: .3rem; }
${LABEL_PILLS}
.tabs { display: flex; gap: .3rem; border-bottom: 1px solid var(--line); margin-bottom: 1rem; flex-wrap: wrap; }
.tab { padding: .4rem .8rem; text-decoration: none; border: 1px solid transparent; border-bottom: none; border-radius: 4px 4px 0 0; }
.tab.current { border-color: var(--line); background: #fff; font-weight: 600; color: var(--fg); margin-bottom: -1px; }
table.versions tr.current td { font-weight: 600; }
input[type=number] { max-width: 9rem; }
form.inline { margin: 0; }
form.inline button { padding: .2rem .7rem; font-size: .9em; }
fieldset.classes label { display: inline-block; margin: .3rem 1.2rem .3rem 0; font-weight: normal; }
form small.hint { display: block; margin: .6rem 0; }
dl.meta { display: grid; grid-template-columns: 9rem 1fr; gap: .35rem 1rem; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
`;
