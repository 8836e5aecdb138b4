import { renderNginxConfig, type NginxConfigOptions } from './nginx-config';
import { HTTP_SERVICE_NAMES, ROUTES } from './routes';

const UPSTREAMS: NginxConfigOptions['upstreams'] = {
  'client-api': ['client-api-0:8008', 'client-api-1:8008'],
  sync: ['10.0.0.5:8008'],
  'federation-receiver': ['federation-receiver:8008'],
  media: ['[fd00::1]:8008'],
};

function render(extra: Partial<NginxConfigOptions> = {}): string {
  return renderNginxConfig({ listen: '0.0.0.0:8080', upstreams: UPSTREAMS, prefix: '/tmp/axon-nginx', ...extra });
}

/** `location <x>` -> the upstream its proxy_pass names. */
function locationsOf(conf: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of conf.matchAll(/location ([^{]+?) \{\s*proxy_pass http:\/\/(\S+);/g)) found.set(m[1]!, m[2]!);
  return found;
}

describe('renderNginxConfig', () => {
  it('has one location per exact route, two per prefix route, and / for the default service', () => {
    const expected = new Map<string, string>([['/', 'axon_client_api']]);
    for (const route of ROUTES) {
      const upstream = `axon_${route.service.replace(/-/g, '_')}`;
      expected.set(`= ${route.path}`, upstream);
      if (route.match === 'prefix') expected.set(`^~ ${route.path}/`, upstream);
    }
    expect(locationsOf(render())).toEqual(expected);
  });

  it('declares every routed upstream with its servers and keep-alive', () => {
    const conf = render({ keepalive: 8 });
    expect(conf).toContain(
      'upstream axon_client_api {\n        server client-api-0:8008;\n        server client-api-1:8008;\n        keepalive 8;\n    }',
    );
    expect(conf).toContain('upstream axon_sync {\n        server 10.0.0.5:8008;\n        keepalive 8;\n    }');
    expect(conf).toContain('server [fd00::1]:8008;');
    expect(conf.match(/upstream \S+ \{/g)).toHaveLength(HTTP_SERVICE_NAMES.length);
  });

  it('proxies with keep-alive, forwarded headers, long reads, retries on a dead replica and media-sized bodies', () => {
    const conf = render();
    for (const line of [
      'proxy_http_version 1.1;',
      'proxy_set_header Connection "";',
      'proxy_set_header Host $host;',
      'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      'proxy_read_timeout 660s;',
      'proxy_next_upstream error timeout;',
      'client_max_body_size 100m;',
      'listen 0.0.0.0:8080;',
    ]) {
      expect(conf).toContain(line);
    }
  });

  it('keeps every file it writes under the prefix', () => {
    const conf = render({ prefix: '/run/axon/nginx/', accessLog: true });
    const paths = [...conf.matchAll(/^\s*(pid|error_log|access_log|\w+_temp_path) (\S+?)[ ;]/gm)];
    expect(paths.map((m) => m[1]).sort()).toEqual(
      ['access_log', 'client_body_temp_path', 'error_log', 'fastcgi_temp_path', 'pid', 'proxy_temp_path', 'scgi_temp_path', 'uwsgi_temp_path'],
    );
    for (const m of paths) expect(m[2]).toMatch(/^\/run\/axon\/nginx\/[a-z_]+(\.log|\.pid)?$/);
  });

  it('writes daemon off only when asked', () => {
    expect(render()).not.toContain('daemon');
    expect(render({ daemon: false })).toMatch(/^daemon off;$/m);
  });

  it('lets an exact route keep its path when a prefix route has the same one', () => {
    const conf = render({
      routes: [
        { path: '/a', match: 'prefix', service: 'media' },
        { path: '/a', match: 'exact', service: 'sync' },
      ],
    });
    expect(locationsOf(conf)).toEqual(
      new Map([
        ['= /a', 'axon_sync'],
        ['^~ /a/', 'axon_media'],
        ['/', 'axon_client_api'],
      ]),
    );
  });

  it.each<[string, Partial<NginxConfigOptions>, RegExp]>([
    ['a listen address without port', { listen: '0.0.0.0' }, /listen: expected host:port/],
    ['a relative prefix', { prefix: 'tmp/nginx' }, /prefix: expected an absolute path/],
    ['a prefix that would end the directive', { prefix: '/tmp/x; user root' }, /prefix/],
    ['the root directory as prefix', { prefix: '/' }, /not a private directory/],
    ['a routed service without replicas', { upstreams: { ...UPSTREAMS, media: [] } }, /upstreams.media: at least one/],
    ['an upstream that is not host:port', { upstreams: { ...UPSTREAMS, sync: ['sync'] } }, /upstreams.sync: expected host:port/],
    ['a bad body size', { clientMaxBodySize: '100 MB' }, /clientMaxBodySize/],
    [
      'two services claiming one path',
      {
        routes: [
          { path: '/a', match: 'exact', service: 'sync' },
          { path: '/a', match: 'exact', service: 'media' },
        ],
      },
      /two routes claim = \/a/,
    ],
  ])('refuses %s', (_name, extra, error) => {
    expect(() => render(extra)).toThrow(error);
  });
});
