// Where the e2e scripts find their npm packages (openai, playwright-core, abcjs): the folder
// $LYRA_NODE_MODULES when set, else <repo>/node_modules, the same order the lyra binary and the
// C++ tests use (src/art/common/data_paths.h). A git worktree has no node_modules of its own, and
// a bare `import ... from 'openai'` looks only in folders above the script, so the scripts load
// packages through requirePackage instead.
import path from 'node:path';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';

export const repo = process.env.LYRA_SOURCE_DIR || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const nodeModules = process.env.LYRA_NODE_MODULES || path.join(repo, 'node_modules');

const require = createRequire(import.meta.url);

// The package `name` from nodeModules, through its CommonJS entry (a path, unlike a bare name,
// is not looked up in the folders above; openai and playwright-core both ship one).
export function requirePackage(name) {
  return require(path.join(nodeModules, name));
}
