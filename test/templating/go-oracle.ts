/**
 * The reference for the differential tests: a tiny Go program, built once per run into a temp
 * dir, that renders cases with Go's text/template exactly as swarmkit sets it up (name
 * "expansion", missingkey=error, join/env/secret/config, a *template.PayloadContext as data).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface OracleCase {
  template: string;
  labels?: Record<string, string>;
  env?: Record<string, string>;
  secrets?: Record<string, string>;
  configs?: Record<string, string>;
  slot?: string;
}
/** Output as base64 (bytes exact) or Go's error string. */
export interface OracleResult {
  out?: string;
  err?: string;
}

/** Why the differential tests cannot run here, or undefined when `go` is usable. */
export function goSkipReason(): string | undefined {
  const r = spawnSync('go', ['version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : missing('go is not installed (apt-get install golang-go)') || undefined;
}

const CONTEXT_GO = `package template

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"text/template"
)

// Platform, Context and PayloadContext reproduce swarmkit's types (names and field order), so
// reflection-derived messages read the same.
type Platform struct {
	Architecture string
	OS           string
}

type Context struct {
	Service struct {
		ID     string
		Name   string
		Labels map[string]string
	}
	Node struct {
		ID       string
		Hostname string
		Platform Platform
	}
	Task struct {
		ID   string
		Name string
		Slot string
	}
}

type Deps struct {
	Env     map[string]string
	Secrets map[string]string
	Configs map[string]string
}

type PayloadContext struct {
	Context
	t                 *Deps
	restrictedSecrets interface{}
	restrictedConfigs interface{}
	sensitive         bool
}

func joinFn(s ...string) string { return strings.Join(s[1:], s[0]) }

func build(s string, extra template.FuncMap) (*template.Template, error) {
	t := template.New("expansion").Option("missingkey=error").Funcs(template.FuncMap{"join": joinFn})
	if extra != nil {
		t = t.Funcs(extra)
	}
	return t.Parse(s)
}

func run(s string, extra template.FuncMap, data interface{}) (string, error) {
	t, err := build(s, extra)
	if err != nil {
		return s, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return s, err
	}
	return buf.String(), nil
}

func (c *Context) Expand(s string) (string, error) { return run(s, nil, c) }

func (p *PayloadContext) funcs() template.FuncMap {
	return template.FuncMap{
		"secret": func(target string) (string, error) {
			if v, ok := p.t.Secrets[target]; ok {
				p.sensitive = true
				return v, nil
			}
			return "", fmt.Errorf("secret target %s not found", target)
		},
		"config": func(target string) (string, error) {
			if v, ok := p.t.Configs[target]; ok {
				return v, nil
			}
			return "", fmt.Errorf("config target %s not found", target)
		},
		"env": func(name string) (string, error) {
			if p.t == nil {
				return "", errors.New("task is not a container")
			}
			return p.t.Env[name], nil
		},
	}
}

func (p *PayloadContext) Expand(s string) (string, error) { return run(s, p.funcs(), p) }

func NewPayload(ctx Context, deps *Deps) *PayloadContext { return &PayloadContext{Context: ctx, t: deps} }
`;

const MAIN_GO = `package main

import (
	"encoding/base64"
	"encoding/json"
	"os"

	"oracle/template"
)

type testCase struct {
	Template string
	Labels   map[string]string
	Env      map[string]string
	Secrets  map[string]string
	Configs  map[string]string
	Slot     *string
}

type result struct {
	Out *string \`json:"out,omitempty"\`
	Err *string \`json:"err,omitempty"\`
}

func main() {
	var cases []testCase
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		panic(err)
	}
	results := make([]result, len(cases))
	for i, c := range cases {
		var ctx template.Context
		ctx.Service.ID = "svc-id"
		ctx.Service.Name = "web"
		ctx.Service.Labels = c.Labels
		if ctx.Service.Labels == nil {
			ctx.Service.Labels = map[string]string{}
		}
		ctx.Node.ID = "node-id"
		ctx.Task.ID = "task-id"
		ctx.Task.Name = "web.1.task-id"
		ctx.Task.Slot = "1"
		if c.Slot != nil {
			ctx.Task.Slot = *c.Slot
		}
		p := template.NewPayload(ctx, &template.Deps{Env: c.Env, Secrets: c.Secrets, Configs: c.Configs})
		out, err := p.Expand(c.Template)
		if err != nil {
			msg := err.Error()
			results[i].Err = &msg
		} else {
			enc := base64.StdEncoding.EncodeToString([]byte(out))
			results[i].Out = &enc
		}
	}
	json.NewEncoder(os.Stdout).Encode(results)
}
`;
import { missing } from '../helpers/tools.ts';

let built: string | undefined;

/** Builds the oracle once (per process) and returns the binary's path. */
export function buildOracle(): string {
  if (built) return built;
  const dir = mkdtempSync(join(tmpdir(), 'secretd-go-oracle-'));
  mkdirSync(join(dir, 'template'));
  writeFileSync(join(dir, 'go.mod'), 'module oracle\n\ngo 1.18\n');
  writeFileSync(join(dir, 'template', 'context.go'), CONTEXT_GO);
  writeFileSync(join(dir, 'main.go'), MAIN_GO);
  const bin = join(dir, 'oracle');
  const env = { ...process.env, GOCACHE: join(dir, 'cache'), GOPATH: join(dir, 'gopath'), GOFLAGS: '-mod=mod', GOPROXY: 'off', GOTOOLCHAIN: 'local' };
  const r = spawnSync('go', ['build', '-o', bin, '.'], { cwd: dir, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`go build failed: ${r.stderr}`);
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  built = bin;
  return bin;
}

/** Renders every case with real Go. */
export function runOracle(cases: OracleCase[]): OracleResult[] {
  const input = JSON.stringify(
    cases.map((c) => ({
      Template: c.template,
      Labels: c.labels,
      Env: c.env,
      Secrets: c.secrets,
      Configs: c.configs,
      Slot: c.slot,
    })),
  );
  const r = spawnSync(buildOracle(), [], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as OracleResult[];
}
