/**
 * Swarm's template data as Go sees it (swarmkit template/context.go): a *template.PayloadContext
 * embedding template.Context {Service, Node, Task}, with the `Expand` methods Go's reflection
 * exposes to templates. Type names match so Go's error texts match.
 */
import { toGo } from './bytes.ts';
import { STRING, type GoType, type GoValue, type StructType } from './values.ts';

/** The shape of swarmkit's template.Context (the same as RenderRequest.context). */
export interface SwarmContext {
  Service: { ID: string; Name: string; Labels: Record<string, string> };
  Node: { ID: string; Hostname: string; Platform: { OS: string; Architecture: string } };
  Task: { ID: string; Name: string; Slot: string };
}

/** How `.Expand` (full functions, PayloadContext data) and `.Context.Expand` (join only) render. */
export interface Expanders {
  payload(source: string, data: GoValue): Promise<string>;
  plain(source: string, data: GoValue): Promise<string>;
}

const LABELS: GoType = { kind: 'map', key: STRING, elem: STRING };
const PLATFORM: StructType = {
  kind: 'struct',
  name: 'template.Platform',
  fields: [
    { name: 'Architecture', type: STRING },
    { name: 'OS', type: STRING },
  ],
};
const SERVICE: StructType = {
  kind: 'struct',
  fields: [
    { name: 'ID', type: STRING },
    { name: 'Name', type: STRING },
    { name: 'Labels', type: LABELS },
  ],
};
const NODE: StructType = {
  kind: 'struct',
  fields: [
    { name: 'ID', type: STRING },
    { name: 'Hostname', type: STRING },
    { name: 'Platform', type: PLATFORM },
  ],
};
const TASK: StructType = {
  kind: 'struct',
  fields: [
    { name: 'ID', type: STRING },
    { name: 'Name', type: STRING },
    { name: 'Slot', type: STRING },
  ],
};

const s = (x: string | undefined): GoValue => ({ type: STRING, v: toGo(x ?? '') });

/** Builds the typed *template.PayloadContext for a task's context. */
export function payloadContext(ctx: SwarmContext, expand: Expanders): GoValue {
  const contextType: StructType = {
    kind: 'struct',
    name: 'template.Context',
    fields: [
      { name: 'Service', type: SERVICE },
      { name: 'Node', type: NODE },
      { name: 'Task', type: TASK },
    ],
    methods: { Expand: { params: 1, call: (recv, [src]) => expand.plain(src!, { type: { kind: 'ptr', elem: contextType }, v: recv }) } },
  };
  const payloadType: StructType = {
    kind: 'struct',
    name: 'template.PayloadContext',
    fields: [
      { name: 'Context', type: contextType, embedded: true },
      // Unexported in Go: present so `.t` fails as Go fails ("unexported field"); never printed.
      { name: 't', type: { kind: 'ptr', elem: { kind: 'struct', name: 'api.Task', fields: [] } } },
      { name: 'restrictedSecrets', type: { kind: 'iface' } },
      { name: 'restrictedConfigs', type: { kind: 'iface' } },
      { name: 'sensitive', type: { kind: 'bool' } },
    ],
    methods: { Expand: { params: 1, call: (_recv, [src]) => expand.payload(src!, root) } },
  };
  const labels = new Map(Object.entries(ctx.Service?.Labels ?? {}).map(([k, v]) => [toGo(k), s(v)]));
  const context: GoValue = {
    type: contextType,
    v: {
      Service: { type: SERVICE, v: { ID: s(ctx.Service?.ID), Name: s(ctx.Service?.Name), Labels: { type: LABELS, v: labels } } },
      Node: {
        type: NODE,
        v: {
          ID: s(ctx.Node?.ID),
          Hostname: s(ctx.Node?.Hostname),
          Platform: { type: PLATFORM, v: { Architecture: s(ctx.Node?.Platform?.Architecture), OS: s(ctx.Node?.Platform?.OS) } },
        },
      },
      Task: { type: TASK, v: { ID: s(ctx.Task?.ID), Name: s(ctx.Task?.Name), Slot: s(ctx.Task?.Slot) } },
    },
  };
  const payload: GoValue = {
    type: payloadType,
    v: {
      Context: context,
      t: { type: payloadType.fields[1]!.type, v: null },
      restrictedSecrets: undefined,
      restrictedConfigs: undefined,
      sensitive: { type: { kind: 'bool' }, v: false },
    },
  };
  const root: GoValue = { type: { kind: 'ptr', elem: payloadType }, v: payload };
  return root;
}
