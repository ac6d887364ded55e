import * as fs from 'fs';
import * as path from 'path';

/** Directory of a handler's pre-built bundle (built by `npm run build`, shipped in the package). */
export function bundleDir(name: string): string {
  const candidates = [
    path.join(__dirname, '..', '..', 'lambda-bundles', name),
    path.join(__dirname, '..', '..', 'dist', 'lambda-bundles', name),
  ];
  const found = candidates.find((c) => fs.existsSync(path.join(c, 'index.js')));
  if (!found) {
    throw new Error(`The bundled cutover handler '${name}' is missing (looked in ${candidates.join(', ')}). Run 'npm run build' to bundle the handlers.`);
  }
  return found;
}
