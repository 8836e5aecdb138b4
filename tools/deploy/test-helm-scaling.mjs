// The chart's autoscalers and failover settings (`npm run test:helm`, after `npm run build`):
// HPAs and KEDA ScaledObjects on the metrics and Kafka groups Axon's code uses, validated
// against the Kubernetes and KEDA schemas; the failover values in Axon's config as its
// loader reads them; the chart refusing what it cannot render, and a second autoscaler on a
// Deployment, against a fake Kubernetes API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { all, chart, dist, find, helm, loadedConfigs, parseObjects, render, root, scaleTargets, svcName, validateAll, validateScaledObject } from './helm-chart.mjs';

const routes = dist('libs/contracts/routes/src/index.js');
const { registeredTopics } = dist('libs/contracts/kafka/src/index.js');
const { Metrics } = dist('libs/platform/telemetry/src/index.js');
const { KafkaBus, KAFKA_TEST_TIMING, ack, createBusMetrics } = dist('libs/platform/bus/src/index.js');
const { FakeKafka } = dist('libs/platform/bus/src/testing/fake-kafka.js');
const { TOPICS, SYNC_STREAMS } = dist('libs/contracts/kafka/src/index.js');
const { ROOM_INPUT_GROUP } = dist('libs/services/room-server/src/index.js');
const { SYNC_GROUP, createSyncMetrics } = dist('libs/services/sync/src/index.js');
const { USER_DIRECTORY_GROUP } = dist('libs/services/client-api/src/user-directory/user-directory.consumer.js');
const { FEDERATION_SENDER_GROUP, FEDERATION_SENDER_TOPICS } = dist('libs/services/federation-sender/src/index.js');

/** The metrics `app` of a service's processes, as runProcess names it. */
const metricsApp = (service) => service.replace(/-/g, '_');

/** The group-lag gauge of a service's processes (createBusMetrics: the committed offsets' lag every member reports): its Prometheus name and label names. */
async function consumerLagGauge(service) {
  const metrics = new Metrics(metricsApp(service));
  createBusMetrics(metrics).groupLag(TOPICS.roomInput.name, 'a-group', 0, 1);
  const [gauge, ...others] = (await metrics.registry.getMetricsAsJSON()).filter((m) => m.values.some((v) => v.labels?.group === 'a-group'));
  assert.equal(others.length, 0);
  return { name: gauge.name, labels: Object.keys(gauge.values[0].labels) };
}

/** The Kafka consumer group and topic that Axon's KafkaBus joins for (group, topic) under kafka.topic_prefix `prefix`. */
async function kafkaNames(group, topicName, prefix) {
  const topic = Object.values(TOPICS).find((t) => t.name === topicName);
  const kafka = new FakeKafka();
  const joined = [];
  const newConsumer = kafka.consumer.bind(kafka);
  kafka.consumer = (config) => {
    const consumer = newConsumer(config);
    const subscribe = consumer.subscribe.bind(consumer);
    consumer.subscribe = async (request) => {
      joined.push({ consumerGroup: config.groupId, topic: request.topics[0] });
      return subscribe(request);
    };
    return consumer;
  };
  const bus = await KafkaBus.fromClient(kafka.asKafka(), { namespace: prefix, timing: KAFKA_TEST_TIMING, logger: { log: () => undefined } });
  try {
    await bus.subscribe(topic, group, () => ack);
  } finally {
    await bus.close();
  }
  assert.equal(joined.length, 1);
  return joined[0];
}

/** The (group, topic) pairs each service consumes, from the constants its consumers subscribe with. */
const CONSUMERS = {
  'client-api': [[USER_DIRECTORY_GROUP, TOPICS.roomOutput.name]],
  'room-server': [[ROOM_INPUT_GROUP, TOPICS.roomInput.name]],
  sync: SYNC_STREAMS.map(([, topic]) => [SYNC_GROUP, topic.name]),
  'federation-sender': FEDERATION_SENDER_TOPICS.map((topic) => [FEDERATION_SENDER_GROUP, topic.name]),
};

test('the consumer groups in values.yaml are the ones Axon\'s services join', () => {
  const values = parse(readFileSync(join(chart, 'values.yaml'), 'utf8'));
  for (const service of routes.SERVICE_NAMES) {
    const groups = values.services[service].autoscaling.consumerLag?.groups ?? [];
    assert.deepEqual(
      groups.map((g) => [g.group, g.topic]),
      CONSUMERS[service] ?? [],
      service,
    );
  }
});

/** sync on CPU, long-polls and lag; room-server on lag alone. */
const SCALED = [
  'services.sync.autoscaling.enabled=true',
  'services.sync.autoscaling.longPolls.enabled=true',
  'services.sync.autoscaling.consumerLag.enabled=true',
  'services.room-server.autoscaling.enabled=true',
  'services.room-server.autoscaling.consumerLag.enabled=true',
  'services.room-server.autoscaling.targetCPUUtilizationPercentage=null',
  'services.room-server.autoscaling.maxReplicas=16',
];

test('autoscaling.provider hpa: HPAs on the long-poll and lag metrics Axon exports (prometheus-adapter)', async () => {
  const objects = render(SCALED);
  validateAll(objects);
  assert.equal(all(objects, 'ScaledObject').length, 0);
  const longPolls = createSyncMetrics(new Metrics(metricsApp('sync'))).longPollsOpen;

  const sync = find(objects, 'HorizontalPodAutoscaler', 'axon-sync');
  assert.deepEqual(sync.spec.metrics[0], { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 75 } } });
  assert.deepEqual(sync.spec.metrics[1], { type: 'Pods', pods: { metric: { name: longPolls.name }, target: { type: 'AverageValue', averageValue: '2000' } } });
  const room = find(objects, 'HorizontalPodAutoscaler', 'axon-room-server');
  assert.ok(!room.spec.metrics.some((m) => m.type !== 'External'), 'room-server scales on lag alone');
  assert.equal(room.spec.maxReplicas, 16);

  for (const [service, lagPerReplica] of [['sync', '1000'], ['room-server', '100']]) {
    const hpa = find(objects, 'HorizontalPodAutoscaler', svcName(service));
    const gauge = await consumerLagGauge(service);
    const external = hpa.spec.metrics.filter((m) => m.type === 'External').map((m) => m.external);
    assert.deepEqual(
      external.map((e) => [e.metric.selector.matchLabels.group, e.metric.selector.matchLabels.topic]),
      CONSUMERS[service],
    );
    for (const e of external) {
      assert.equal(e.metric.name, gauge.name);
      for (const label of Object.keys(e.metric.selector.matchLabels)) assert.ok(gauge.labels.includes(label), `${gauge.name} has no label ${label}`);
      assert.deepEqual(e.target, { type: 'AverageValue', averageValue: lagPerReplica });
    }
    assert.equal(find(objects, 'Deployment', svcName(service)).spec.replicas, undefined, `${service}: the autoscaler owns the size`);
  }
});

test('autoscaling.provider keda: ScaledObjects valid for KEDA, on the Kafka groups and metrics Axon uses', async () => {
  const objects = render([
    ...SCALED,
    'autoscaling.provider=keda',
    'autoscaling.keda.prometheusServerAddress=http://prometheus.monitoring:9090',
    'kafka.topicPrefix=prod.',
    'kafka.brokers={kafka-0:9092,kafka-1:9092}',
  ]);
  validateAll(objects);
  assert.equal(all(objects, 'HorizontalPodAutoscaler').length, 0);

  for (const [service, lagThreshold] of [['sync', '1000'], ['room-server', '100']]) {
    const scaled = find(objects, 'ScaledObject', svcName(service));
    assert.deepEqual(scaled.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: svcName(service) });
    assert.equal(scaled.spec.minReplicaCount, 2);
    const kafka = scaled.spec.triggers.filter((t) => t.type === 'kafka').map((t) => t.metadata);
    const joined = [];
    for (const [group, topic] of CONSUMERS[service]) joined.push(await kafkaNames(group, topic, 'prod.'));
    assert.deepEqual(
      kafka.map((m) => ({ consumerGroup: m.consumerGroup, topic: m.topic })),
      joined,
    );
    for (const m of kafka) {
      assert.equal(m.bootstrapServers, 'kafka-0:9092,kafka-1:9092');
      assert.equal(m.lagThreshold, lagThreshold);
      assert.equal(m.offsetResetPolicy, 'earliest');
    }
    assert.equal(find(objects, 'Deployment', svcName(service)).spec.replicas, undefined, `${service}: the autoscaler owns the size`);
  }
  assert.equal(find(objects, 'ScaledObject', 'axon-room-server').spec.maxReplicaCount, 16);
  assert.ok(!find(objects, 'ScaledObject', 'axon-room-server').spec.triggers.some((t) => t.type !== 'kafka'), 'room-server scales on lag alone');

  const sync = find(objects, 'ScaledObject', 'axon-sync').spec.triggers;
  assert.deepEqual(sync[0], { type: 'cpu', metricType: 'Utilization', metadata: { value: '75' } });
  const [prometheus, ...more] = sync.filter((t) => t.type === 'prometheus');
  assert.equal(more.length, 0);
  assert.equal(prometheus.metadata.serverAddress, 'http://prometheus.monitoring:9090');
  assert.equal(prometheus.metadata.threshold, '2000');
  const query = prometheus.metadata.query.match(/^sum\((\w+)\{namespace="matrix",pod=~"([^"]+)"\}\)$/);
  assert.ok(query, prometheus.metadata.query);
  assert.equal(query[1], createSyncMetrics(new Metrics(metricsApp('sync'))).longPollsOpen.name);
  // PromQL anchors =~ at both ends; the pods of the Deployment, and no other's.
  const pods = new RegExp(`^(?:${query[2]})$`);
  assert.ok(pods.test('axon-sync-7c9d8f6b5-x2x7q'));
  assert.ok(!pods.test('axon-sync-extra-7c9d8f6b5-x2x7q'));
  assert.ok(!pods.test('axon-room-server-7c9d8f6b5-x2x7q'));
});

test('the ScaledObject check refuses what KEDA\'s API would', () => {
  const scaled = find(render(['autoscaling.provider=keda', 'services.room-server.autoscaling.enabled=true', 'services.room-server.autoscaling.consumerLag.enabled=true']), 'ScaledObject', 'axon-room-server');
  assert.ok(validateScaledObject(scaled), JSON.stringify(validateScaledObject.errors));
  const broken = [
    (o) => (o.spec.minReplicas = 2),
    (o) => (o.spec.triggers.find((t) => t.type === 'kafka').metadata.lagThreshold = 100),
    (o) => (o.spec.triggers = []),
    (o) => delete o.spec.scaleTargetRef.name,
    (o) => (o.spec.pollingInterval = 2 ** 31),
    (o) => (o.spec.minReplicaCount = o.spec.maxReplicaCount + 1),
  ];
  for (const breakIt of broken) {
    const copy = structuredClone(scaled);
    breakIt(copy);
    assert.ok(!validateScaledObject(copy), `accepted: ${breakIt}`);
  }
});

test('failover settings: in Axon\'s config as set, and pods that outlive Axon\'s drain', () => {
  const objects = render(['kafka.sessionTimeoutMs=1000', 'grpc.maxConnectionAgeMs=0', 'grpc.maxConnectionAgeGraceMs=2500', 'terminationGracePeriodSeconds=45']);
  validateAll(objects);
  for (const { service, config } of loadedConfigs(objects)) {
    assert.equal(config.kafka.session_timeout_ms, 1000, service);
    assert.equal(config.grpc.max_connection_age_ms, 0, service);
    assert.equal(config.grpc.max_connection_age_grace_ms, 2500, service);
  }
  for (const deployment of all(objects, 'Deployment')) assert.equal(deployment.spec.template.spec.terminationGracePeriodSeconds, 45);
  // The schema's upper bounds, written as integers Axon's loader takes.
  for (const { config } of loadedConfigs(render(['kafka.sessionTimeoutMs=300000', 'grpc.maxConnectionAgeMs=2147483647']))) {
    assert.equal(config.kafka.session_timeout_ms, 300000);
    assert.equal(config.grpc.max_connection_age_ms, 2147483647);
  }

  // A pod killed before Axon gives up draining leaves its Kafka groups only after the session timeout.
  const graceMs = loadedConfigs(render())[0].config.shutdown.grace_ms;
  assert.throws(() => render([`terminationGracePeriodSeconds=${graceMs / 1000}`]), new RegExp(`must be longer than Axon's shutdown.grace_ms \\(${graceMs} ms\\)`));
  validateAll(render([`terminationGracePeriodSeconds=${graceMs / 1000 + 1}`]));
  assert.throws(() => render(['config.shutdown.grace_ms=40000']), /terminationGracePeriodSeconds \(30\) must be longer than Axon's shutdown.grace_ms \(40000 ms\)/);
  assert.equal(loadedConfigs(render(['config.shutdown.grace_ms=40000', 'terminationGracePeriodSeconds=45']))[0].config.shutdown.grace_ms, 40000);
});

test('partition counts: in Axon\'s config as set, for the topics Axon has', () => {
  assert.equal(loadedConfigs(render())[0].config.kafka.partitions['hs.room.input.v1'], undefined);
  const objects = render(['kafka.partitions.hs\\.room\\.input\\.v1=64', 'kafka.partitions.hs\\.room\\.output\\.v1=48']);
  validateAll(objects);
  for (const { service, config } of loadedConfigs(objects)) assert.deepEqual(config.kafka.partitions, { 'hs.room.input.v1': 64, 'hs.room.output.v1': 48 }, service);
  // The schema names exactly the topics Axon registers (the loader checks the names again at start).
  const schema = JSON.parse(readFileSync(join(chart, 'values.schema.json'), 'utf8'));
  assert.deepEqual([...schema.properties.kafka.properties.partitions.propertyNames.enum].sort(), registeredTopics().map((topic) => topic.name).sort());
  for (const bad of ['kafka.partitions.hs\\.room\\.nope\\.v1=4', 'kafka.partitions.hs\\.room\\.input\\.v1=0', 'kafka.partitions.hs\\.room\\.input\\.v1=10001']) {
    assert.throws(() => render([bad]), /values don't meet the specifications of the schema|partitions/, bad);
  }
});

test('the chart refuses autoscalers it cannot render', () => {
  assert.throws(
    () => render(['services.federation-receiver.autoscaling.enabled=true', 'services.federation-receiver.autoscaling.consumerLag.enabled=true']),
    /services\.federation-receiver: autoscaling\.consumerLag has no groups/,
  );
  assert.throws(() => render(['services.media.autoscaling.enabled=true', 'services.media.autoscaling.targetCPUUtilizationPercentage=null']), /services\.media: autoscaling has nothing to scale on/);
  assert.throws(
    () => render(['autoscaling.provider=keda', 'services.sync.autoscaling.enabled=true', 'services.sync.autoscaling.longPolls.enabled=true']),
    /services\.sync: autoscaling\.longPolls with the keda provider needs autoscaling\.keda\.prometheusServerAddress/,
  );
  for (const provider of ['hpa', 'keda']) {
    const on = [`autoscaling.provider=${provider}`, 'services.sync.autoscaling.enabled=true'];
    assert.throws(() => render([...on, 'services.sync.replicas=12']), /services\.sync: autoscaling\.maxReplicas \(10\) is below replicas \(12\)/);
    assert.throws(() => render([...on, 'services.sync.resources.requests.cpu=null']), /services\.sync: autoscaling on CPU needs resources\.requests\.cpu/);
    // Without CPU among its metrics, a service needs no CPU request.
    validateAll(render([...on, 'services.sync.resources.requests.cpu=null', 'services.sync.autoscaling.targetCPUUtilizationPercentage=null', 'services.sync.autoscaling.consumerLag.enabled=true']));
  }
});

/**
 * A Kubernetes API that serves only lists of HorizontalPodAutoscalers and ScaledObjects in
 * namespace matrix, for the chart's lookups under `helm template --dry-run=server`.
 */
async function withCluster({ hpas = [], scaledObjects = [] }, run) {
  const resources = [
    { groupVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', plural: 'horizontalpodautoscalers', items: hpas },
    { groupVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', plural: 'scaledobjects', items: scaledObjects },
  ];
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://cluster').pathname;
    const reply = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    for (const r of resources) {
      if (path === `/apis/${r.groupVersion}`) {
        return reply(200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: r.groupVersion, resources: [{ name: r.plural, singularName: r.kind.toLowerCase(), namespaced: true, kind: r.kind, verbs: ['get', 'list'] }] });
      }
      if (path === `/apis/${r.groupVersion}/namespaces/matrix/${r.plural}`) return reply(200, { kind: `${r.kind}List`, apiVersion: r.groupVersion, metadata: {}, items: r.items });
    }
    reply(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `${path} not found` });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'axon-helm-cluster-'));
  try {
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'fake', cluster: { server: `http://127.0.0.1:${server.address().port}` } }],
        users: [{ name: 'fake', user: { token: 'fake' } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace: 'matrix' } }],
        'current-context': 'fake',
      }),
    );
    return await run(kubeconfig);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template --dry-run=server` against `kubeconfig`; helm runs beside the fake API server, so not with spawnSync. */
function renderAgainst(kubeconfig, sets) {
  // A pinned key: the chart's lookup of its Secret would need the core API too.
  const key = 'ed25519 a_abcd ' + Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '');
  // `helm template` does not discover the cluster's APIs; `helm upgrade` would see KEDA's.
  const args = ['template', 'axon', chart, '--namespace', 'matrix', '--dry-run=server', '--api-versions', 'keda.sh/v1alpha1/ScaledObject', '--set', `signingKey.value=${key}`, ...sets.flatMap((s) => ['--set', s])];
  return new Promise((resolve, reject) => {
    const child = spawn(helm, args, { cwd: root, env: { ...process.env, KUBECONFIG: kubeconfig } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => (status === 0 ? resolve(parseObjects(stdout)) : reject(new Error(`helm template failed: ${stderr}`))));
  });
}

test('a Deployment another autoscaler already scales gets no second one (lookups of the cluster)', async () => {
  const target = (name) => ({ apiVersion: 'apps/v1', kind: 'Deployment', name });
  const hpa = (name, deployment, owner) => ({
    metadata: { name, namespace: 'matrix', ...(owner ? { ownerReferences: [{ apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', name: owner, uid: 'uid' }] } : {}) },
    spec: { scaleTargetRef: target(deployment), maxReplicas: 10 },
  });
  const scaledObject = (name, deployment) => ({ metadata: { name, namespace: 'matrix' }, spec: { scaleTargetRef: { name: deployment }, triggers: [] } });
  const sync = ['services.sync.autoscaling.enabled=true'];
  const keda = [...sync, 'autoscaling.provider=keda'];
  const refused = (kind, by) => new RegExp(`services\\.sync: ${by} already scales Deployment axon-sync, and a ${kind} must not scale it too: upgrade once with services\\.sync\\.autoscaling\\.enabled=false`);

  // The chart's HPA from provider hpa, with provider keda now: KEDA would refuse the ScaledObject.
  await withCluster({ hpas: [hpa('axon-sync', 'axon-sync')] }, async (kubeconfig) => {
    await assert.rejects(renderAgainst(kubeconfig, keda), refused('ScaledObject', 'HorizontalPodAutoscaler axon-sync'));
    assert.ok(find(await renderAgainst(kubeconfig, sync), 'HorizontalPodAutoscaler', 'axon-sync'), 'an upgrade that keeps provider hpa');
  });
  // The chart's ScaledObject and the HPA KEDA made for it, with provider hpa now.
  await withCluster({ hpas: [hpa('keda-hpa-axon-sync', 'axon-sync', 'axon-sync')], scaledObjects: [scaledObject('axon-sync', 'axon-sync')] }, async (kubeconfig) => {
    await assert.rejects(renderAgainst(kubeconfig, sync), refused('HorizontalPodAutoscaler', 'ScaledObject axon-sync'));
    assert.ok(find(await renderAgainst(kubeconfig, keda), 'ScaledObject', 'axon-sync'), 'an upgrade that keeps provider keda');
  });
  // Autoscalers made by hand, on this Deployment or another.
  await withCluster({ hpas: [hpa('sync-by-hand', 'axon-sync'), hpa('other', 'axon-media')], scaledObjects: [scaledObject('also-by-hand', 'axon-sync')] }, async (kubeconfig) => {
    await assert.rejects(renderAgainst(kubeconfig, sync), refused('HorizontalPodAutoscaler', 'HorizontalPodAutoscaler sync-by-hand, ScaledObject also-by-hand'));
    await assert.rejects(renderAgainst(kubeconfig, keda), refused('ScaledObject', 'HorizontalPodAutoscaler sync-by-hand, ScaledObject also-by-hand'));
    // The chart renders no autoscaler for sync: its replicas are the operator's business.
    assert.equal(scaleTargets(await renderAgainst(kubeconfig, ['services.room-server.autoscaling.enabled=true'])).length, 1);
  });
});
