// matrix-bot-sdk requires its Rust crypto binding (@matrix-org/matrix-sdk-crypto-nodejs)
// when it loads, but that package's native library comes from a download in its install
// script, which cannot reach its host here (the script is denied in package.json's
// allowScripts). The scenarios run the bot without encryption, which never calls into the
// binding; this puts a stand-in into the require cache under the binding's own path, so
// loading works and any use of encryption fails loudly instead of silently.
import Module, { createRequire } from 'node:module';

export function installNoCryptoBinding() {
  const require = createRequire(import.meta.url);
  const bindingPath = createRequire(require.resolve('matrix-bot-sdk')).resolve('@matrix-org/matrix-sdk-crypto-nodejs');
  const stub = new Module(bindingPath);
  stub.filename = bindingPath;
  stub.loaded = true;
  stub.exports = new Proxy(
    {},
    {
      get(_target, name) {
        if (name === '__esModule') return false;
        throw new Error(`matrix-bot-sdk scenarios run without encryption; crypto binding member ${String(name)} was used`);
      },
    },
  );
  require.cache[bindingPath] = stub;
}
