/**
 * The template corpus run through both real Go and our renderer: every supported feature, and
 * broken templates failing at various points. Labels default to {a: "1", b: "2", "x-y": "z"}.
 */
import type { OracleCase } from './go-oracle.ts';

const L = { a: '1', b: '2', 'x-y': 'z', empty: '' };
const S = { db: 's3cr3t', multi: 'line1\nline2' };
const E = { HOME: '/root', EMPTY: '' };

const valid: string[] = [
  '', 'plain text', 'multi\nline\ntext', '{{.Service.ID}}/{{.Service.Name}}', '{{.Node.ID}}|{{.Node.Hostname}}|{{.Node.Platform.OS}}|{{.Node.Platform.Architecture}}',
  '{{.Task.ID}} {{.Task.Name}} {{.Task.Slot}}', '{{.Service.Labels}}', '{{.Service.Labels.a}}', '{{.Service}}', '{{.Node}}', '{{.Task}}', '{{.Node.Platform}}',
  '{{.Context.Service.Name}}', '{{.Context.Expand "{{.Service.Name}}"}}', '{{.Expand "{{secret \\"db\\"}}"}}',
  '{{index .Service.Labels "x-y"}}', '{{index .Service.Labels "missing"}}|', '{{.Service.Labels.empty}}|',
  // trim markers
  'a  {{- "b" -}}  c', 'a\n\n{{- /* comment */ -}}\n\nb', '{{- .Service.Name -}}', 'x {{-  .Task.Slot  -}} y', '{{ .Task.Slot }}', '{{/* only */}}', 'a{{/* c */}}b',
  '{{-3}}', '{{- 3}}', '{{3 -}}', '{{3 -}}  \n x',
  // variables and pipelines
  '{{$x := .Service.Name}}{{$x}}', '{{$x := 1}}{{$x = 2}}{{$x}}', '{{$}}', '{{$.Service.Name}}', '{{with .Service}}{{$.Task.ID}} {{.Name}}{{end}}',
  '{{.Service.Name | printf "%s!"}}', '{{"x" | printf "%s-%s" "y"}}', '{{.Service.Labels | len}}', '{{(.Service).Name}}', '{{(index .Service.Labels "a")}}',
  '{{$v := .Service.Labels}}{{$v.a}}', '{{print (len "abc") (print "x")}}', '{{$a, $b := 1, 2}}',
  // if / else
  '{{if .Service.Name}}yes{{end}}', '{{if .Node.Hostname}}yes{{else}}no{{end}}', '{{if eq .Task.Slot "2"}}two{{else if eq .Task.Slot "1"}}one{{else}}?{{end}}',
  '{{if and .Service.Name .Node.Hostname}}both{{else}}notboth{{end}}', '{{or .Node.Hostname "fallback"}}', '{{and 1 0 2}}', '{{or 0 "" nil}}', '{{not .Service.Labels}}',
  '{{if $x := .Service.Labels.a}}{{$x}}{{end}}', '{{if 0}}a{{else}}b{{end}}', '{{if 0.0}}a{{else}}b{{end}}', '{{if ""}}a{{else}}b{{end}}', '{{if .Service.Labels}}nonempty{{end}}',
  // range
  '{{range .Service.Labels}}[{{.}}]{{end}}', '{{range $k, $v := .Service.Labels}}{{$k}}={{$v}};{{end}}', '{{range $i, $c := slice "abc" 0 0}}{{end}}',
  '{{range $v := .Service.Labels}}{{$v}}{{else}}none{{end}}', '{{range $k, $v := .Service.Labels}}{{if eq $k "b"}}{{break}}{{end}}{{$k}}{{end}}',
  '{{range $k, $v := .Service.Labels}}{{if eq $k "a"}}{{continue}}{{end}}{{$k}}{{end}}', '{{range .Service.Labels}}{{$x := .}}{{$x}}{{end}}',
  // with
  '{{with .Service.Labels.a}}[{{.}}]{{end}}', '{{with .Node.Hostname}}x{{else}}nohost{{end}}', '{{with $x := .Task}}{{$x.ID}}{{end}}',
  // literals
  '{{"quoted\\tstring\\u00e9\\x41"}}', '{{`raw\\nstring`}}', '{{42}}', '{{-7}}', '{{+7}}', '{{0x1F}}', '{{0o17}}', '{{017}}', '{{0b101}}', '{{1_000}}', "{{'a'}}", "{{'\\n'}}",
  '{{1.5}}', '{{1e3}}', '{{1e6}}', '{{1234567.0}}', '{{0.000012}}', '{{.5}}', '{{1.0}}', '{{true}} {{false}}', '{{print nil}}', '{{printf "%v" nil}}', '{{9223372036854775807}}',
  '{{1i}}', '{{1+2i}}', '{{0x1p4}}', '{{print 1 2 "a" "b" 3}}', '{{println 1 "a"}}', '{{print}}', '{{print .Service.Labels}}',
  // printf
  '{{printf "%s|%d|%v|%q|%x|%X|%%" "s" 42 true "q\\"" "hex" 255}}', '{{printf "%5s|%-5s|%05d|%-5d|%+d|% d" "ab" "ab" 42 42 42 42}}',
  '{{printf "%.2f|%8.3f|%e|%g|%G|%.3g" 3.14159 2.5 123456.789 0.00001 1e21 3.14159}}', '{{printf "%c|%U|%#U|%q|%o|%#o|%b|%#x" 65 65 233 65 8 8 5 255}}',
  '{{printf "%d" "str"}}', '{{printf "%s" 5}}', '{{printf "%d %d" 1}}', '{{printf "%d" 1 2}}', '{{printf "%z" 1}}', '{{printf "%"}}', '{{printf "%!"}}',
  '{{printf "%t %v" true .Service.Labels}}', '{{printf "%s" .Service.Labels}}', '{{printf "%*d" 5 3}}', '{{printf "%.*f" 2 3.14159}}', '{{printf "%#v" "s"}}',
  '{{printf "%x" "héllo"}}', '{{printf "%q" "héllo\\x01"}}', '{{printf "%.2s" "héllo"}}', '{{printf "%6.2s|" "héllo"}}', '{{printf "%#q" "back"}}', '{{printf "%T" 1}}',
  // builtins
  '{{len .Service.Name}}', '{{len "héllo"}}', '{{index "abc" 1}}', '{{slice "abcdef" 1 3}}', '{{slice "abcdef" 2}}', '{{slice "abcdef"}}',
  '{{html "<a href=\\"x\\">&\'</a>"}}', '{{js "it\'s <b> & \\"q\\" = \\\\ \\n é"}}', '{{urlquery "a b&c=d/é"}}', '{{html 1 2}}', '{{urlquery "a" "b"}}',
  '{{eq 1 1}} {{eq 1 2}} {{eq "a" "b" "a"}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1.5 2.5}}', '{{eq .Task.Slot "1"}}', '{{lt (index "a" 0) 98}}',
  '{{eq .Node.Platform .Node.Platform}}', '{{eq nil nil}}',
  // swarm functions
  '{{secret "db"}}', '{{secret "multi"}}', '{{env "HOME"}}|{{env "UNSET"}}|{{env "EMPTY"}}', '{{join "," "a" "b" "c"}}', '{{join "-"}}', '{{join ", " .Service.Name .Task.Slot}}',
  '{{secret "db" | printf "pw=%s"}}', '{{"db" | secret}}', '{{with secret "db"}}{{.}}{{end}}', '{{len (secret "db")}}',
  // templates
  '{{define "a"}}A{{.}}{{end}}{{template "a" 1}}', '{{define "a"}}A{{end}}{{template "a"}}', '{{block "b" .Service.Name}}[{{.}}]{{end}}', '{{define "r"}}{{if .}}x{{template "r" false}}{{end}}{{end}}{{template "r" true}}',
  '{{template "a"}}{{define "a"}}late{{end}}', '{{define "a"}}{{.Name}}{{end}}{{template "a" .Service}}',
];

const broken: string[] = [
  '{{', '{{.Service.Name', '{{.Service.Name}', 'line1\n{{.Service.Name\nline3', '{{ } }}', 'a\nb\n{{ } }}', '{{)}}', '{{(}}', '{{(.Service.Name}}', '{{.Service.Name)}}',
  '{{nope}}', '{{nope 1}}', 'x\n{{.Service.Name | nope}}', '{{.Service.Labels.absent}}', 'a\n  {{.Service.Labels.absent}}', '{{.Service.Nope}}', '{{.Nope}}', '{{.t}}', '{{.Node.Platform.Nope}}',
  '{{.Service.Labels.a.b}}', '{{$x}}', '{{$x = 1}}', '{{if}}{{end}}', '{{if .Service.Name}}', '{{if .Service.Name}}{{else}}', '{{end}}', '{{else}}', '{{range .Service.Name}}{{end}}',
  '{{range 5}}{{end}}', '{{with}}{{end}}', '{{break}}', '{{continue}}', '{{range .Service.Labels}}{{else}}{{break}}{{end}}', '{{define "a"}}{{end}}{{define "a"}}x{{end}}{{define "a"}}y{{end}}',
  '{{template "nope"}}', '{{template nope}}', '{{define "r"}}{{template "r"}}{{end}}{{template "r"}}', '{{"unterminated}}', '{{`unterminated}}', "{{'ab'}}", "{{'a}}", '{{1x}}', '{{0x}}', '{{99999999999999999999}}',
  '{{1e400}}', '{{"\\q"}}', '{{.Service.Name "arg"}}', '{{.Service.Labels.a "arg"}}', '{{"x" | .Service.Name}}', '{{1 2}}', '{{. 1}}', '{{nil}}', '{{nil.Foo}}', '{{"s".Foo}}',
  '{{.Service.Name | "x"}}', '{{$x := 1 | 2}}', '{{/* unclosed }}', '{{/* a */ x}}', '{{$a, $b := 1}}', '{{range $a, $b, $c := .Service.Labels}}{{end}}', '{{with $a, $b := 1}}{{end}}',
  '{{env}}', '{{env 1}}', '{{env "a" "b"}}', '{{env .Service.Labels}}', '{{secret "nope"}}', '{{config "c"}}', '{{join}}', '{{join 1}}', '{{secret nil}}', '{{printf}}', '{{printf 1}}',
  '{{len 3}}', '{{len nil}}', '{{index 1 1}}', '{{index "abc" 5}}', '{{index "abc" 3}}', '{{index .Service.Labels 1}}', '{{index nil 1}}', '{{slice "abc" 2 1}}', '{{slice "abc" 1 2 3}}', '{{slice 1}}', '{{slice "abc" 9}}',
  '{{lt 1 "a"}}', '{{lt true false}}', '{{eq 1 "a"}}', '{{eq}}', '{{eq .Service.Labels .Service.Labels}}', '{{lt .Service.Labels 1}}', '{{not}}', '{{not 1 2}}', '{{and}}', '{{call 1}}', '{{call nil}}',
  '{{.Expand}}', '{{.Expand "{{nope}}"}}', '{{.Expand "{{.Service.Labels.zz}}"}}', '{{.Context.Expand "{{env \\"X\\"}}"}}', '{{.Context.Expand "{{.Context}}"}}',
  '{{if 1}}\n{{else}}\n{{else}}{{end}}', '{{range .Service.Labels}}\n{{.Nope}}{{end}}', 'x\u0001{{\u0001}}', '{{é}}', '{{.é}}', '{{$é := 1}}{{$é}}', '{{.Service.Labels.a|}}', '{{|}}', '{{:}}', '{{:=}}',
  '{{ $x := }}', '{{ := 1}}', '{{-}}', '{{- }}', '{{ -}}', '{{3 - 4}}', '{{.Service.Name.}}', '{{..}}', '{{.Service..Name}}', '{{$.}}', '{{print $x}}', '{{block "b"}}{{end}}',
  '{{define}}{{end}}', '{{define "a" 1}}{{end}}', '{{template "a" 1 2}}', '{{with .Service}}{{else}}{{else}}{{end}}', '{{range}}{{end}}', '{{else if 1}}', '{{if 1}}{{else if}}{{end}}',
  'a\nb\nc\n{{.Service.Labels.x | printf "%s"}}', '{{printf "%s" .Service.Labels.x}}', '{{(1).X}}', '{{(.Service.Labels).zz}}', '{{$.Service.Labels.zz}}', '{{true.X}}',
  '{{"longer than ten characters" 1}}', '{{if 1}}{{"abcdefghijklmn" ) }}{{end}}', '{{123456789012 x}}',
];

function cases(templates: string[]): OracleCase[] {
  return templates.map((template) => ({ template, labels: L, secrets: S, env: E }));
}

export const CORPUS: OracleCase[] = [
  ...cases(valid),
  ...cases(broken),
  { template: '{{.Service.Labels}}' },
  { template: '{{range $k, $v := .Service.Labels}}{{$k}}:{{$v}} {{end}}', labels: { zeta: '1', Alpha: '2', alpha: '3', '10': '4', '9': '5', 'é': '6' } },
  { template: '{{.Task.Slot}}', slot: 'node-id' },
];
