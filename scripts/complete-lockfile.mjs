// Adds lock entries for optional platform binaries that the registry this project is built
// against does not serve (npm then leaves them out of package-lock.json, and `npm ci` rejects
// the lock as out of sync). Each entry carries the os/cpu/libc its name declares, so npm skips
// it on other platforms exactly as it would with the full entry. Run after `npm install`.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const OS = { android: 'android', darwin: 'darwin', freebsd: 'freebsd', linux: 'linux', win32: 'win32', openharmony: 'openharmony', wasm32: null };
const CPU = { arm: 'arm', arm64: 'arm64', x64: 'x64', ia32: 'ia32', loong64: 'loong64', ppc64: 'ppc64', riscv64: 'riscv64', s390x: 's390x' };

let added = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const target = `node_modules/${dep}`;
    if (lock.packages[target] || lock.packages[`${path}/${target}`]) continue;
    const parts = dep.split('/').pop().split('-');
    const os = parts.map((p) => OS[p]).find((v) => v !== undefined);
    const cpu = parts.map((p) => CPU[p]).find(Boolean);
    const stub = { version, optional: true };
    if (os === null) stub.cpu = ['wasm32'];
    else if (os) stub.os = [os];
    if (cpu && os !== null) stub.cpu = [cpu];
    if (parts.includes('musl')) stub.libc = ['musl'];
    if (parts.includes('gnu') || parts.includes('gnueabihf')) stub.libc = ['glibc'];
    if (!stub.os && !stub.cpu) continue;
    lock.packages[target] = stub;
    added++;
  }
}
writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log(`added ${added} optional platform entries to package-lock.json`);
