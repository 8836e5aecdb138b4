// Validates the Helm chart offline (`npm run test:helm`, after `npm run build`):
// helm lint; every object `helm template` renders checked against the Kubernetes API
// schemas (kubernetes-models); the rendered Deployments, Services, autoscalers,
// disruption budgets, Ingress and Axon configuration checked against the routing table
// (libs/contracts/routes) and Axon's own config schema; values.schema.json refusing bad
// values. The autoscalers and failover settings: test-helm-scaling.mjs. Needs helm:
// tools/deploy/install-helm.sh puts it in tmp/tools/bin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { all, chart, dist, find, loadedConfigs, render, runHelm, svcName, validateAll } from './helm-chart.mjs';

const routes = dist('libs/contracts/routes/src/index.js');
const { parseSigningKey } = dist('libs/matrix/signing/src/index.js');

test('helm lint passes, also with --strict', () => {
  for (const args of [['lint', chart], ['lint', '--strict', chart]]) {
    const result = runHelm(args);
    assert.equal(result.status, 0, `helm ${args.join(' ')}:\n${result.stdout}${result.stderr}`);
  }
});

test('the default render: every object is a valid Kubernetes object', () => {
  const objects = render();
  validateAll(objects);
  const kinds = objects.map((o) => o.kind).sort();
  for (const kind of ['ConfigMap', 'Deployment', 'Ingress', 'PodDisruptionBudget', 'Secret', 'Service']) assert.ok(kinds.includes(kind), `no ${kind}`);
  assert.equal(all(objects, 'Deployment').length, routes.SERVICE_NAMES.length);
});

test('one Deployment per service, started as that service with probes, config and secrets', () => {
  const objects = render();
  const secret = find(objects, 'Secret', 'axon');
  const configMap = find(objects, 'ConfigMap', 'axon-config');
  for (const service of routes.SERVICE_NAMES) {
    const deployment = find(objects, 'Deployment', svcName(service));
    assert.ok(deployment, `no Deployment for ${service}`);
    const pod = deployment.spec.template;
    assert.deepEqual(deployment.spec.selector.matchLabels, Object.fromEntries(Object.entries(pod.metadata.labels).filter(([k]) => k in deployment.spec.selector.matchLabels)));
    assert.equal(pod.metadata.annotations['prometheus.io/scrape'], 'true');
    assert.equal(pod.metadata.annotations['prometheus.io/path'], '/metrics');
    assert.equal(pod.metadata.annotations['prometheus.io/port'], '9090');
    const [container, ...others] = pod.spec.containers;
    assert.equal(others.length, 0);
    assert.deepEqual(container.args, [`dist/apps/${service}/src/main.js`]);
    assert.equal(container.image, 'axon:0.1.0');
    // The probes and the scrape use the metrics listener (listen.metrics), not the client port.
    assert.deepEqual(container.startupProbe.httpGet, { path: '/health', port: 'metrics' }, `${service} startup`);
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/health', port: 'metrics' }, `${service} liveness`);
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/ready', port: 'metrics' }, `${service} readiness`);
    assert.deepEqual(container.ports.find((p) => p.name === 'http'), { name: 'http', containerPort: 8008, protocol: 'TCP' });
    assert.deepEqual(container.ports.find((p) => p.name === 'metrics'), { name: 'metrics', containerPort: 9090, protocol: 'TCP' });
    const servesGrpc = routes.GRPC_SERVER_NAMES.includes(service);
    assert.equal(container.ports.some((p) => p.name === 'grpc' && p.containerPort === 50051), servesGrpc, `${service} gRPC port`);

    const env = Object.fromEntries(container.env.map((e) => [e.name, e]));
    assert.equal(env.AXON_SERVICE_NAME.value, `axon-${service}`);
    assert.deepEqual(env.AXON_DATABASE_URL.valueFrom.secretKeyRef, { name: 'axon', key: 'database-url' });
    const mounts = Object.fromEntries(container.volumeMounts.map((m) => [m.name, m]));
    const volumes = Object.fromEntries(pod.spec.volumes.map((v) => [v.name, v]));
    assert.equal(volumes.config.configMap.name, configMap.metadata.name);
    assert.equal(`${mounts.config.mountPath}`, env.AXON_CONFIG.value);
    assert.equal(volumes['signing-key'].secret.secretName, secret.metadata.name);
    assert.equal(join(mounts['signing-key'].mountPath, volumes['signing-key'].secret.items[0].path), env.AXON_SIGNING_KEY_PATH.value);
    assert.ok(secret.data[volumes['signing-key'].secret.items[0].key], 'the signing key item exists in the Secret');
  }
});

test('the Secret holds a signing key Axon can read and the database URL', () => {
  const secret = find(render(), 'Secret', 'axon');
  const key = parseSigningKey(Buffer.from(secret.data['signing.key'], 'base64').toString('utf8'));
  assert.ok(key.ok, `generated signing key: ${key.error}`);
  assert.equal(Buffer.from(secret.data['database-url'], 'base64').toString('utf8'), 'postgres://axon@postgres:5432/axon');
  const given = 'ed25519 a_abcd ' + Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '');
  const pinned = find(render([`signingKey.value=${given}`]), 'Secret', 'axon');
  assert.equal(Buffer.from(pinned.data['signing.key'], 'base64').toString('utf8'), given);
});

test('the config file passes Axon\'s own config schema in every Deployment\'s environment', () => {
  const objects = render(['otel.endpoint=http://otel-collector:4318']);
  const configs = loadedConfigs(objects);
  assert.equal(configs.length, routes.SERVICE_NAMES.length);
  for (const { service, config } of configs) {
    assert.equal(config.server_name, 'example.org');
    assert.equal(config.database.url, 'postgres://axon@postgres:5432/axon');
    assert.deepEqual(config.kafka.brokers, ['kafka:9092']);
    assert.equal(config.redis.url, 'redis://redis:6379');
    assert.equal(config.telemetry.otlp_endpoint, 'http://otel-collector:4318');
    assert.equal(config.telemetry.service_name, `axon-${service}`);
    assert.deepEqual(config.listen.client, { host: '0.0.0.0', port: 8008 });
    assert.deepEqual(config.listen.grpc, { host: '0.0.0.0', port: 50051 });
    assert.deepEqual(config.listen.metrics, { host: '0.0.0.0', port: 9090 });
    // Every gRPC service points at the headless Service of the process that serves it.
    assert.deepEqual(Object.keys(config.grpc.targets).sort(), Object.keys(routes.GRPC_SERVICES).sort());
    for (const [name, target] of Object.entries(config.grpc.targets)) {
      const grpcService = find(objects, 'Service', `${svcName(routes.GRPC_SERVICES[name])}-grpc`);
      assert.ok(grpcService, `no headless Service for ${name}`);
      assert.equal(grpcService.spec.clusterIP, 'None');
      assert.equal(target, `dns:///${grpcService.metadata.name}:${grpcService.spec.ports[0].port}`);
    }
    // The chart's failover defaults: a dead replica's partitions move after 10 s, not Axon's 30 s.
    assert.equal(config.kafka.session_timeout_ms, 10000);
    assert.equal(config.grpc.max_connection_age_ms, 30000);
    assert.equal(config.grpc.max_connection_age_grace_ms, 10000);
  }
});

test('Services select their Deployment\'s pods; gRPC servers also get a headless Service', () => {
  const objects = render();
  for (const service of routes.SERVICE_NAMES) {
    const labels = find(objects, 'Deployment', svcName(service)).spec.template.metadata.labels;
    const names = [svcName(service), ...(routes.GRPC_SERVER_NAMES.includes(service) ? [`${svcName(service)}-grpc`] : [])];
    for (const name of names) {
      const svc = find(objects, 'Service', name);
      assert.ok(svc, `no Service ${name}`);
      for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(labels[k], v, `${name} selector ${k}`);
    }
    assert.equal(find(objects, 'Service', svcName(service)).spec.ports[0].port, 8008);
    // The metrics listener stays inside the pod network: no Service port leads to it.
    for (const name of names) assert.ok(!find(objects, 'Service', name).spec.ports.some((p) => p.targetPort === 'metrics' || p.port === 9090), `${name} exposes the metrics port`);
  }
  assert.equal(all(objects, 'Service').length, routes.SERVICE_NAMES.length + routes.GRPC_SERVER_NAMES.length);
});

test('sync scaled to 5: Deployment, autoscaler and disruption budget agree', () => {
  const fixed = render(['services.sync.replicas=5']);
  validateAll(fixed);
  assert.equal(find(fixed, 'Deployment', 'axon-sync').spec.replicas, 5);
  assert.equal(find(fixed, 'Deployment', 'axon-room-server').spec.replicas, 2);
  assert.equal(find(fixed, 'HorizontalPodAutoscaler', 'axon-sync'), undefined);
  const pdb = find(fixed, 'PodDisruptionBudget', 'axon-sync');
  assert.ok(pdb, 'no PodDisruptionBudget for sync');
  assert.deepEqual(pdb.spec.selector.matchLabels, find(fixed, 'Deployment', 'axon-sync').spec.selector.matchLabels);
  assert.equal(pdb.spec.maxUnavailable, 1);

  const scaled = render(['services.sync.replicas=5', 'services.sync.autoscaling.enabled=true', 'services.sync.autoscaling.maxReplicas=12']);
  validateAll(scaled);
  const hpa = find(scaled, 'HorizontalPodAutoscaler', 'axon-sync');
  assert.equal(hpa.apiVersion, 'autoscaling/v2');
  assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'axon-sync' });
  assert.equal(hpa.spec.minReplicas, 5);
  assert.equal(hpa.spec.maxReplicas, 12);
  assert.equal(hpa.spec.metrics[0].resource.name, 'cpu');
  // The autoscaler owns the size: a fixed replicas would fight it on every upgrade.
  assert.equal(find(scaled, 'Deployment', 'axon-sync').spec.replicas, undefined);
  assert.throws(() => render(['services.sync.replicas=5', 'services.sync.autoscaling.enabled=true', 'services.sync.autoscaling.maxReplicas=3']), /maxReplicas \(3\) is below replicas \(5\)/);
  assert.equal(find(render(['services.sync.podDisruptionBudget.enabled=false']), 'PodDisruptionBudget', 'axon-sync'), undefined);
});

/** The Ingress rules as {path, match, service}, backends mapped back to Axon service names. */
function ingressRoutes(objects, release = 'axon') {
  const ingress = all(objects, 'Ingress');
  assert.equal(ingress.length, 1);
  const services = new Map(routes.SERVICE_NAMES.map((s) => [svcName(s, release), s]));
  return ingress[0].spec.rules.map((rule) =>
    rule.http.paths.map((p) => {
      const backend = p.backend.service;
      assert.ok(find(objects, 'Service', backend.name)?.spec.ports.some((port) => port.name === backend.port.name), `backend ${backend.name}:${backend.port.name} exists`);
      return { path: p.path, match: p.pathType.toLowerCase(), service: services.get(backend.name) };
    }),
  );
}

test('the Ingress paths are exactly the routing table, plus / for the default service', () => {
  const expected = [...routes.ROUTES.map((r) => ({ path: r.path, match: r.match, service: r.service })), { path: '/', match: 'prefix', service: routes.DEFAULT_SERVICE }];
  assert.deepEqual(ingressRoutes(render()), [expected]);
  const hosts = render(['ingress.hosts={matrix.example.org,example.org}', 'ingress.tls[0].secretName=tls', 'ingress.tls[0].hosts={matrix.example.org}', 'ingress.className=nginx']);
  validateAll(hosts);
  assert.deepEqual(ingressRoutes(hosts), [expected, expected]);
  const ingress = find(hosts, 'Ingress', 'axon');
  assert.deepEqual(ingress.spec.rules.map((r) => r.host), ['matrix.example.org', 'example.org']);
  assert.equal(ingress.spec.ingressClassName, 'nginx');
  assert.equal(find(render(['ingress.enabled=false']), 'Ingress', 'axon'), undefined);
});

/** The service nginx picks for `path`: an `=` location, else the longest prefix. */
function nginxRoute(conf, upstreamToService, path) {
  const locations = [...conf.matchAll(/location (= |\^~ )?(\S+) \{\s*proxy_pass http:\/\/(\S+);/g)].map((m) => ({ kind: m[1]?.trim() ?? '', path: m[2], service: upstreamToService.get(m[3]) }));
  const bare = path.replace(/[?#].*$/, '');
  const exact = locations.find((l) => l.kind === '=' && l.path === bare);
  if (exact) return exact.service;
  const prefixes = locations.filter((l) => l.kind !== '=' && bare.startsWith(l.path)).sort((a, b) => b.path.length - a.path.length);
  return prefixes[0]?.service;
}

test('nginx (renderNginxConfig) and the Ingress route the same paths to the same services', () => {
  const objects = render([], 'chat');
  const [rules] = ingressRoutes(objects, 'chat');
  // nginx in front of the same Kubernetes Services the Ingress uses.
  const upstreams = Object.fromEntries(routes.HTTP_SERVICE_NAMES.map((s) => [s, [`${svcName(s, 'chat')}.matrix.svc:8008`]]));
  const conf = routes.renderNginxConfig({ listen: '0.0.0.0:8080', upstreams, prefix: '/tmp/nginx' });
  const upstreamToService = new Map();
  for (const m of conf.matchAll(/upstream (\S+) \{\s*server (\S+);/g)) {
    upstreamToService.set(m[1], routes.SERVICE_NAMES.find((s) => m[2] === `${svcName(s, 'chat')}.matrix.svc:8008`));
  }
  const paths = [
    ...rules.flatMap((r) => [r.path, `${r.path}/`, `${r.path}/a/b`, `${r.path}x`, `${r.path}?q=1`]),
    '/_matrix/client/v3/sync/extra',
    '/_matrix/unknown',
    '/metrics',
    '/',
  ];
  let compared = 0;
  for (const path of paths) {
    const viaIngress = routes.matchRoute(path, rules)?.service;
    assert.ok(viaIngress, `the Ingress has no rule for ${path}`);
    assert.equal(nginxRoute(conf, upstreamToService, path), viaIngress, path);
    assert.equal(routes.routeFor(path), viaIngress, path);
    compared++;
  }
  console.log(`# ${compared} paths routed alike by the Ingress, nginx and routeFor`);
});

test('metricsPort moves the metrics listener, its probes and the scrape annotation together', () => {
  const objects = render(['metricsPort=9102']);
  validateAll(objects);
  for (const deployment of all(objects, 'Deployment')) {
    const pod = deployment.spec.template;
    const container = pod.spec.containers[0];
    assert.equal(pod.metadata.annotations['prometheus.io/port'], '9102');
    assert.equal(container.ports.find((p) => p.name === 'metrics').containerPort, 9102);
    assert.equal(container.readinessProbe.httpGet.port, 'metrics');
  }
  assert.match(find(objects, 'ConfigMap', 'axon-config').data['axon.yaml'], /metrics: 0\.0\.0\.0:9102/);
});

test('existing Secrets replace the chart\'s own', () => {
  const objects = render(['database.existingSecret=db', 'database.existingSecretKey=url', 'signingKey.existingSecret=keys', 'database.url=']);
  validateAll(objects);
  assert.equal(all(objects, 'Secret').length, 0);
  for (const deployment of all(objects, 'Deployment')) {
    const pod = deployment.spec.template.spec;
    assert.deepEqual(pod.containers[0].env.find((e) => e.name === 'AXON_DATABASE_URL').valueFrom.secretKeyRef, { name: 'db', key: 'url' });
    assert.deepEqual(pod.volumes.find((v) => v.name === 'signing-key').secret.items, [{ key: 'signing.key', path: 'signing.key' }]);
    assert.equal(pod.volumes.find((v) => v.name === 'signing-key').secret.secretName, 'keys');
  }
});

test('values.schema.json refuses bad values', () => {
  const bad = [
    ['services.sync.replicas=two', /services\/sync\/replicas/],
    ['services.sync.replica=2', /additional properties 'replica' not allowed|replica/],
    ['services.chat.replicas=1', /chat/],
    ['kafka.brokers=null', /kafka/],
    ['database.url=mysql://x', /database\/url/],
    ['serverName=not a name', /serverName/],
    ['metricsPort=8008', /metricsPort/],
    ['metricsPort=0', /metricsPort/],
    ['kafka.sessionTimeoutMs=-1', /kafka\/sessionTimeoutMs/],
    ['kafka.sessionTimeoutMs=999', /kafka\/sessionTimeoutMs/],
    ['kafka.sessionTimeoutMs=300001', /kafka\/sessionTimeoutMs/],
    ['kafka.sessionTimeoutMs=10s', /kafka\/sessionTimeoutMs/],
    ['kafka.sessionTimeoutMs=null', /missing property 'sessionTimeoutMs'/],
    ['grpc.maxConnectionAgeMs=-1', /grpc\/maxConnectionAgeMs/],
    ['grpc.maxConnectionAgeMs=2147483648', /grpc\/maxConnectionAgeMs/],
    ['grpc.maxConnectionAgeGraceMs=-1', /grpc\/maxConnectionAgeGraceMs/],
    ['terminationGracePeriodSeconds=-1', /terminationGracePeriodSeconds/],
    ['autoscaling.provider=prometheus-adapter', /autoscaling\/provider/],
    ['autoscaling.keda.pollingInterval=0', /autoscaling\/keda\/pollingInterval/],
    // Only sync serves long-polls.
    ['services.room-server.autoscaling.longPolls.enabled=true', /services\/room-server\/autoscaling\/longPolls/],
    ['services.sync.autoscaling.longPolls.perReplica=0', /services\/sync\/autoscaling\/longPolls\/perReplica/],
    ['services.sync.autoscaling.consumerLag.lagPerReplica=-5', /services\/sync\/autoscaling\/consumerLag\/lagPerReplica/],
    ['services.sync.autoscaling.consumerLag.groups[0].topic=room.output', /consumerLag\/groups\/0/],
    ['services.sync.autoscaling.targetCPUUtilizationPercentage=0', /targetCPUUtilizationPercentage/],
  ];
  for (const [set, message] of bad) {
    for (const command of ['template', 'lint']) {
      const args = command === 'template' ? ['template', 'axon', chart, '--set', set] : ['lint', chart, '--set', set];
      const result = runHelm(args);
      assert.notEqual(result.status, 0, `helm ${command} --set ${set} should fail`);
      assert.match(result.stdout + result.stderr, message, `helm ${command} --set ${set}`);
    }
  }
});
