// The harness of the Helm chart's tests (test-helm.mjs, test-helm-scaling.mjs): helm itself,
// `helm template` parsed into objects, the schema checks every rendered object passes, and
// Axon's own code from dist/ (`npm run build` first).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import * as models from 'kubernetes-models';
import { parse, parseAllDocuments } from 'yaml';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const chart = join(root, 'helm/axon');
const require = createRequire(import.meta.url);
export const dist = (path) => {
  const file = join(root, 'dist', path);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return require(file);
};
const { loadConfig } = dist('libs/platform/config/src/index.js');

export const helm = [process.env.HELM, join(root, 'tmp/tools/bin/helm')].find((p) => p && existsSync(p)) ?? 'helm';
if (spawnSync(helm, ['version', '--short']).status !== 0) {
  console.error(`test-helm: no helm binary (${helm}); run tools/deploy/install-helm.sh`);
  process.exit(1);
}

export function runHelm(args) {
  const result = spawnSync(helm, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.error) throw result.error;
  return result;
}

/** `helm template` with `--set` pairs; the rendered objects, or a thrown error with helm's message. */
export function render(sets = [], release = 'axon') {
  const result = runHelm(['template', release, chart, '--namespace', 'matrix', ...sets.flatMap((s) => ['--set', s])]);
  if (result.status !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseObjects(result.stdout);
}

export function parseObjects(yaml) {
  return parseAllDocuments(yaml)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0].message}`);
      return doc.toJS();
    })
    .filter((obj) => obj !== null);
}

export const find = (objects, kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);
export const all = (objects, kind) => objects.filter((o) => o.kind === kind);

/** The kubernetes-models class for an apiVersion and kind: `networking.k8s.io/v1` -> networkingK8sIo.v1. */
function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : [undefined, apiVersion];
  const key = group === undefined ? undefined : group.split('.').map((part, i) => (i === 0 ? part : part[0].toUpperCase() + part.slice(1))).join('');
  const versions = key === undefined ? models : models[key];
  const model = versions?.[version]?.[kind];
  if (typeof model !== 'function') throw new Error(`no Kubernetes model for ${apiVersion} ${kind}`);
  return model;
}

/**
 * KEDA's ScaledObject schema (tools/deploy/keda-scaledobject.schema.yaml, from KEDA's CRD)
 * as the API server applies it with strict field validation (kubectl's default): unknown
 * fields refused, int32 in range, and the CRD's CEL rules, each written again here.
 */
export const validateScaledObject = (() => {
  const schema = parse(readFileSync(join(root, 'tools/deploy/keda-scaledobject.schema.yaml'), 'utf8'));
  const closeObjects = (node) => {
    if (Array.isArray(node)) return node.forEach(closeObjects);
    if (node === null || typeof node !== 'object') return;
    if (node.properties && node.additionalProperties === undefined && !node['x-kubernetes-preserve-unknown-fields']) node.additionalProperties = false;
    Object.values(node).forEach(closeObjects);
  };
  closeObjects(schema);
  const celRules = {
    "!has(self.minReplicaCount) || self.minReplicaCount <= (has(self.maxReplicaCount) ? self.maxReplicaCount : 100)": (spec) =>
      spec.minReplicaCount === undefined || spec.minReplicaCount <= (spec.maxReplicaCount ?? 100),
  };
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addFormat('int32', { type: 'number', validate: (n) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addKeyword({
    keyword: 'x-kubernetes-validations',
    validate: (rules, data) =>
      rules.every(({ rule }) => {
        const check = celRules[rule];
        if (check === undefined) throw new Error(`no check written for KEDA's CEL rule ${rule}`);
        return check(data);
      }),
  });
  return ajv.compile(schema);
})();

/** The Deployment each autoscaler (HPA or ScaledObject) scales, by the autoscalers' ids. */
export function scaleTargets(objects) {
  return objects
    .filter((o) => o.kind === 'HorizontalPodAutoscaler' || o.kind === 'ScaledObject')
    .map((o) => ({ id: `${o.kind}/${o.metadata.name}`, target: `${o.spec.scaleTargetRef.kind ?? 'Deployment'}/${o.spec.scaleTargetRef.name}` }));
}

export function validateAll(objects) {
  assert.ok(objects.length > 0, 'nothing rendered');
  const seen = new Set();
  for (const obj of objects) {
    const id = `${obj.kind}/${obj.metadata?.name}`;
    assert.ok(!seen.has(id), `${id} rendered twice`);
    seen.add(id);
    if (obj.apiVersion === 'keda.sh/v1alpha1' && obj.kind === 'ScaledObject') {
      assert.ok(validateScaledObject(obj), `${id} is not a valid KEDA ScaledObject: ${JSON.stringify(validateScaledObject.errors)}`);
      continue;
    }
    const Model = modelFor(obj.apiVersion, obj.kind);
    try {
      new Model(obj).validate();
    } catch (err) {
      throw new Error(`${id} is not a valid ${obj.apiVersion} ${obj.kind}: ${err.message}`);
    }
  }
  // A Deployment scaled by two autoscalers flaps between their answers (and KEDA refuses it).
  const targets = scaleTargets(objects);
  for (const { id, target } of targets) {
    assert.ok(seen.has(target), `${id} scales ${target}, which is not rendered`);
    const others = targets.filter((t) => t.target === target && t.id !== id);
    assert.deepEqual(others, [], `${id} and ${others.map((o) => o.id).join(', ')} all scale ${target}`);
  }
}

/** The chart's name for a service's objects: the release name, with "-axon" unless it has it. */
export const svcName = (service, release = 'axon') => `${release.includes('axon') ? release : `${release}-axon`}-${service}`;

/** The configuration Axon's own loader makes of the ConfigMap in each Deployment's environment, by service. */
export function loadedConfigs(objects) {
  const dir = mkdtempSync(join(tmpdir(), 'axon-helm-'));
  try {
    const file = join(dir, 'axon.yaml');
    writeFileSync(file, find(objects, 'ConfigMap', 'axon-config').data['axon.yaml']);
    return all(objects, 'Deployment').map((deployment) => {
      const env = { AXON_CONFIG: file };
      for (const e of deployment.spec.template.spec.containers[0].env) {
        if (e.name === 'AXON_CONFIG') continue;
        const ref = e.valueFrom?.secretKeyRef;
        env[e.name] = ref ? Buffer.from(find(objects, 'Secret', ref.name).data[ref.key], 'base64').toString('utf8') : e.value;
      }
      return { service: deployment.metadata.labels['app.kubernetes.io/component'], config: loadConfig({ env }) };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
