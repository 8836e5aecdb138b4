import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GRPC_SERVICES, renderNginxConfig, type ServiceName } from '@axon/contracts-routes';

/** The gRPC services each app serves, by full name (the routing table's): the others reach them through `grpc.targets`. */
export const GRPC_SERVED: Partial<Record<ServiceName, readonly string[]>> = {};
for (const [name, service] of Object.entries(GRPC_SERVICES)) GRPC_SERVED[service] = [...(GRPC_SERVED[service] ?? []), name];

/** One replica as discovery sees it: where its HTTP and gRPC listeners are. */
export interface Replica {
  /** `room-server-1`, `sync-3`... */
  readonly name: string;
  readonly service: ServiceName;
  readonly httpPort: number;
  readonly grpcPort: number | undefined;
}

/**
 * What the local distributed deployment's discovery knows: the replicas that take
 * traffic. Written as three kinds of file in the deployment's directory, each rewritten
 * whole (to a temporary name, then renamed, so a reader never sees half a file) when a
 * replica is registered or removed:
 *
 * - `grpc-targets/<service>.targets`: the gRPC addresses of the app's replicas, one per
 *   line, which every other process reads through its `file://` gRPC target (followed as
 *   it changes: `libs/platform/rpc/src/file-resolver.ts`). A file rather than DNS or Redis:
 *   it needs nothing running, the launcher is the only writer, and it is what a
 *   Kubernetes headless Service is to the chart (a list of ready endpoints).
 * - `nginx/nginx.conf`: the routing table's upstreams for the replicas with HTTP
 *   routes, reloaded in place (`nginx -s reload`: new connections go to the new set, the
 *   old workers finish the requests they hold).
 * - `scrape-targets/axon-local.json`: Prometheus file_sd targets (every replica's
 *   `/metrics`) for the OpenTelemetry collector (`AXON_SCRAPE_TARGETS_DIR`).
 */
export class ReplicaRegistry {
  private readonly replicas = new Map<string, Replica>();
  /** The configuration nginx runs with, when known: reloading the same one is skipped. */
  private loaded: string | undefined;
  readonly nginxDir: string;
  readonly confPath: string;

  constructor(
    private readonly dataDir: string,
    private readonly nginxBin: string,
    private readonly listen: { readonly host: string; readonly port: number },
  ) {
    this.nginxDir = join(dataDir, 'nginx');
    this.confPath = join(this.nginxDir, 'nginx.conf');
    for (const dir of ['grpc-targets', 'nginx', 'scrape-targets']) mkdirSync(join(dataDir, dir), { recursive: true });
  }

  /** The `file://` target of every gRPC service (by full name), for `grpc.targets`. */
  grpcTargets(): Record<string, string> {
    const targets: Record<string, string> = {};
    for (const [service, names] of Object.entries(GRPC_SERVED) as [ServiceName, readonly string[]][]) {
      for (const name of names) targets[name] = `file://${this.targetsFile(service)}`;
    }
    return targets;
  }

  list(): Replica[] {
    return [...this.replicas.values()];
  }

  /** Adds replicas and rewrites the files (nginx is reloaded by `reloadNginx`, once it runs). */
  add(...replicas: Replica[]): void {
    for (const replica of replicas) this.replicas.set(replica.name, replica);
    this.write();
  }

  remove(name: string): void {
    this.replicas.delete(name);
    this.write();
  }

  /** Writes every file from the registered replicas; nginx's configuration is checked with `nginx -t` first. */
  write(): void {
    for (const service of Object.keys(GRPC_SERVED) as ServiceName[]) {
      const addresses = this.list()
        .filter((r) => r.service === service && r.grpcPort !== undefined)
        .map((r) => `127.0.0.1:${r.grpcPort}`);
      writeAtomically(this.targetsFile(service), addresses.length > 0 ? `${addresses.join('\n')}\n` : '');
    }
    const upstreams = {} as Record<ServiceName, string[]>;
    for (const r of this.list()) (upstreams[r.service] ??= []).push(`127.0.0.1:${r.httpPort}`);
    const config = renderNginxConfig({ listen: `${this.listen.host}:${this.listen.port}`, upstreams, prefix: this.nginxDir });
    const candidate = `${this.confPath}.next`;
    writeFileSync(candidate, config);
    const check = spawnSync(this.nginxBin, ['-t', '-q', '-p', this.nginxDir, '-c', candidate], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`nginx refused ${candidate}:\n${check.stderr}`);
    renameSync(candidate, this.confPath);
    const targets = this.list().map((r) => ({ targets: [`127.0.0.1:${r.httpPort}`], labels: { service: r.service, instance_name: r.name } }));
    writeAtomically(join(this.dataDir, 'scrape-targets', 'axon-local.json'), `${JSON.stringify(targets, null, 2)}\n`);
  }

  /** nginx was started on the configuration written last. */
  nginxStarted(): void {
    this.loaded = readFileSync(this.confPath, 'utf8');
  }

  /**
   * Has the running nginx (its pid file in the prefix) load the current configuration,
   * unless it runs that one already (a room-server, which has no HTTP routes, changes
   * nothing there). A reload is not free for clients: the old workers close their idle
   * keep-alive connections, and a request a client sends on one at that moment fails
   * before any answer (the race HTTP/1.1 leaves clients to retry, RFC 9112 §9.3.1).
   */
  reloadNginx(): void {
    const config = readFileSync(this.confPath, 'utf8');
    if (config === this.loaded) return;
    const reload = spawnSync(this.nginxBin, ['-s', 'reload', '-p', this.nginxDir, '-c', this.confPath], { encoding: 'utf8' });
    if (reload.status !== 0) throw new Error(`nginx -s reload failed:\n${reload.stderr}`);
    this.loaded = config;
  }

  private targetsFile(service: ServiceName): string {
    return join(this.dataDir, 'grpc-targets', `${service}.targets`);
  }
}

function writeAtomically(path: string, text: string): void {
  writeFileSync(`${path}.next`, text);
  renameSync(`${path}.next`, path);
}
