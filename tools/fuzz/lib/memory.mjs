// Where a process's resident memory is, for the fuzzer's idle readings: /proc/<pid>/smaps
// summed by kind of mapping, and (with the server's inspector open) what V8 holds. PGlite's
// WebAssembly memory is an anonymous mapping of its exact byte length (128 MB), among the
// largest.
import { readFileSync } from 'node:fs';

/**
 * Resident kB of a process by kind of mapping: glibc's main heap, thread stacks, files
 * (the node binary, shared libraries), and anonymous mappings (V8's heap and code pages,
 * WebAssembly memory, glibc's thread arenas and large mmap'ed blocks, all alike here).
 */
export function smapsSummary(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return undefined;
  }
  const sum = { heap: 0, stack: 0, file: 0, anon: 0 };
  const anon = [];
  let kind;
  let range;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[3];
      range = { start: head[1], sizeKb: (parseInt(head[2], 16) - parseInt(head[1], 16)) / 1024 };
      kind = name === '[heap]' ? 'heap' : name.startsWith('[stack') ? 'stack' : name.startsWith('/') ? 'file' : 'anon';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && kind) {
      sum[kind] += Number(rss[1]);
      if (kind === 'anon') anon.push({ ...range, rssKb: Number(rss[1]) });
    }
  }
  return { ...sum, largestAnon: anon.sort((a, b) => b.rssKb - a.rssKb).slice(0, 8) };
}

/** Runtime.evaluate in the server's main context, over its inspector (`--inspect=host:port`). */
export class Inspector {
  static async connect(port) {
    const [target] = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    const ws = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve, { once: true });
      ws.addEventListener('error', reject, { once: true });
    });
    return new Inspector(ws);
  }

  constructor(ws) {
    this.ws = ws;
    this.id = 0;
    this.pending = new Map();
    ws.addEventListener('message', (e) => {
      const msg = JSON.parse(e.data);
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(msg.error.message));
      else p.resolve(msg.result);
    });
  }

  call(method, params = {}) {
    const id = ++this.id;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  async evaluate(expression) {
    const r = await this.call('Runtime.evaluate', { expression, returnByValue: true });
    if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text);
    return r.result.value;
  }

  /**
   * V8's heap spaces and external memory. Nothing here walks the heap (Runtime.queryObjects
   * did, and left 15 MB of malloc'd memory resident that the next reading counted).
   */
  async breakdown() {
    return this.evaluate(`(() => {
      const v8 = process.getBuiltinModule('v8');
      const mu = process.memoryUsage();
      const spaces = {};
      for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = { size: s.space_size, used: s.space_used_size, physical: s.physical_space_size };
      return { rss: mu.rss, heapTotal: mu.heapTotal, heapUsed: mu.heapUsed, external: mu.external, arrayBuffers: mu.arrayBuffers, spaces, code: v8.getHeapCodeStatistics(), heap: v8.getHeapStatistics() };
    })()`);
  }

  close() {
    this.ws.close();
  }
}

const mb = (bytes) => (bytes / 2 ** 20).toFixed(1);

/** One line: the smaps kinds and, when there is one, the inspector's breakdown. */
export function describeMemory(smaps, inside) {
  const parts = [];
  if (smaps) {
    const largest = smaps.largestAnon.slice(0, 3).map((m) => `${mb(m.rssKb * 1024)} of ${mb(m.sizeKb * 1024)}`);
    parts.push(`malloc [heap] ${mb(smaps.heap * 1024)}, anon ${mb(smaps.anon * 1024)} (largest mappings ${largest.join(', ')}), files ${mb(smaps.file * 1024)}, stacks ${mb(smaps.stack * 1024)}`);
  }
  if (inside) {
    const s = inside.spaces;
    const space = (name) => (s[name] ? `${mb(s[name].used)}/${mb(s[name].physical)}` : '-');
    parts.push(
      `V8 heap used/committed ${mb(inside.heapUsed)}/${mb(inside.heap.total_physical_size)} (old ${space('old_space')}, code ${space('code_space')}, new ${space('new_space')}, lo ${space('large_object_space')}, trusted ${space('trusted_space')}), ` +
        `bytecode+metadata ${mb(inside.code.bytecode_and_metadata_size)}, external ${mb(inside.external)} (array buffers ${mb(inside.arrayBuffers)})`,
    );
  }
  return parts.join('; ');
}
