// Lint for the whole repository: the layers of docs/architecture.md as import
// rules (a table per app, below), and the few other rules the code keeps.
//
// How the layer rules know where an import lands without a resolver plugin:
// the built-in no-restricted-imports matches the specifier's text, and a file
// N folders below an app's src/ reaches src/ with exactly N `../`. So for each
// depth we match "N ups, then a folder": that folder is the layer the import
// lands in. Side-effect imports and re-exports are seen by the rule; dynamic
// `import()` is caught by no-restricted-syntax with the same expressions.
import { builtinModules } from 'node:module';
import { defineConfig } from 'eslint/config';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

/**
 * The agent's layers (apps/vm-agent/src): what each folder may import besides
 * itself and src/'s top-level files (errors.ts). Every folder of both tables
 * has a line (tests/unit/lint.test.ts checks), so a new folder gets its rule
 * when it is made; an import of a folder not named is refused.
 */
export const AGENT_LAYERS = {
  util: [],
  runtime: ['util'],
  images: ['util', 'runtime'],
  network: ['util', 'runtime'],
  volumes: ['util', 'runtime'],
  engine: ['util', 'runtime', 'images', 'network', 'volumes'],
  build: ['util', 'runtime', 'images', 'network', 'volumes', 'engine'],
  api: ['util', 'runtime', 'images', 'network', 'volumes', 'engine', 'build'],
  ssh: ['util', 'runtime'],
};

/**
 * main's folders (apps/main/src), bottom to top: main's side of the
 * main/renderer contract (the service type and its dispatch) and the
 * utilities; the VM (QEMU), its settings and the SSH link; the host
 * services; the VM daemon; the engine targets; the dashboard's service; the
 * two transports and cli.ts, the composition roots, which nothing imports.
 * The packages (@berth/api, @berth/protocol) sit below them all: any folder
 * may import them.
 */
export const MAIN_LAYERS = {
  contract: [],
  util: [],
  vm: ['util'],
  settings: ['util', 'vm'],
  link: ['util'],
  host: ['util', 'link'],
  daemon: ['util', 'vm', 'settings', 'link', 'host'],
  bundled: ['util'],
  engines: ['util', 'settings', 'host', 'daemon'],
  dashboard: ['contract', 'util', 'settings', 'bundled', 'engines', 'daemon'],
  web: ['contract', 'util'],
  electron: ['contract', 'util', 'vm', 'settings', 'link', 'host', 'daemon', 'bundled', 'engines', 'dashboard', 'web'],
};

/**
 * The shared packages (packages/NAME, imported as @berth/...): the
 * main/renderer contract and the main/agent wire formats. Each imports only
 * its own files: nothing of apps/, no Node, no other package (their
 * tsconfigs also compile them without Node or DOM types). Every folder of
 * packages/ is named here (tests/unit/lint.test.ts checks).
 */
export const PACKAGES = ['berth-api', 'protocol'];

/** How deep below src/ files may sit (src/LAYER/a/b/file.ts is 3). */
const MAX_DEPTH = 4;
const CODE = '{ts,tsx,mts,js,mjs}';
/** Tests may reach across layers to set things up, as the old regex test allowed. */
const TESTS = ['**/*.test.*'];

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const ups = (n) => `(?:\\.\\./){${n}}`;

/** A forbidden specifier (a regular expression over its text) and what to say. */
const restriction = (regex, message) => ({ regex, message });

/** The rule entries for one group of files: static imports, `import()`, and forbidden names of allowed modules. */
function rulesFor({ restrictions, paths = [], properties = [] }) {
  return {
    'no-restricted-imports': ['error', { paths, patterns: restrictions.map(({ regex, message }) => ({ regex, message })) }],
    // esquery cannot take a '/' inside a regex literal: written as \x2F, which means the same to RegExp.
    'no-restricted-syntax': [
      'error',
      ...restrictions.map(({ regex, message }) => ({ selector: `ImportExpression[source.value=/${regex.replaceAll('/', '\\x2F')}/]`, message })),
    ],
    'no-restricted-properties': ['error', ...properties],
  };
}

/** From a file `depth` folders below `src` in `layer`: imports of src/ folders neither `layer` nor allowed. */
function layerRestriction(src, layer, allowed, depth) {
  // `..` is no folder: an import that leaves src/ is for the app-wide rules to judge.
  const ok = [...[layer, ...allowed].map(escape), '\\.\\.'].join('|');
  return restriction(
    `^${ups(depth)}(?!(?:${ok})/)[^/]+/`,
    `${src}/${layer}/ may import only ${allowed.length ? `${allowed.join(', ')} of the other folders` : 'itself'}: lower layers never import upper ones (docs/architecture.md)`,
  );
}

/**
 * An app's config objects, one per layer and depth, each holding every
 * restriction its files keep (a later object would replace an earlier one's
 * options for the same rule, so nothing is split across objects).
 * `restrictionsFor(layer, depth)` gives them; layer is undefined for src/'s
 * own files, or for every file when the app has no layer table.
 */
function appConfigs({ src, layers, restrictionsFor }) {
  const groups = [{ layer: undefined, depth: 0, files: [`${src}/*.${CODE}`] }];
  for (let depth = 1; depth <= MAX_DEPTH; depth++) {
    const below = `${'*/'.repeat(depth - 1)}*.${CODE}`;
    if (!layers) groups.push({ layer: undefined, depth, files: [`${src}/*/${below}`] });
    else for (const layer of Object.keys(layers)) groups.push({ layer, depth, files: [`${src}/${layer}/${below}`] });
  }
  return groups.map(({ layer, depth, files }) => ({ files, ignores: TESTS, rules: rulesFor(restrictionsFor(layer, depth)) }));
}

const noElectron = restriction('^electron(?:/|$)', 'only apps/main/src/electron/ imports Electron, so every other service runs and is tested under plain Node');
const nodeBuiltins = restriction(
  `^(?:node:|(?:${builtinModules.map(escape).join('|')})(?:/|$))`,
  'the renderer imports no Node code (it runs in a browser page): ask main through the API client (apps/renderer/src/api/)',
);

// Only runtime/ loads the C addon (runtime/native.ts): no other agent file makes a require() or dlopens.
const ADDON_ONLY = 'only apps/vm-agent/src/runtime/ loads the C addon (runtime/native.ts): import what you need from runtime/';
const addonLoading = {
  paths: ['module', 'node:module'].map((name) => ({ name, importNames: ['createRequire'], message: ADDON_ONLY })),
  properties: [{ object: 'process', property: 'dlopen', message: ADDON_ONLY }],
};

const agent = appConfigs({
  src: 'apps/vm-agent/src',
  layers: AGENT_LAYERS,
  restrictionsFor: (layer, depth) => ({
    restrictions: [
      ...(layer ? [layerRestriction('apps/vm-agent/src', layer, AGENT_LAYERS[layer], depth)] : []),
      noElectron,
      restriction(`^${ups(depth + 2)}main/`, 'the agent never imports apps/main: the two share only wire formats'),
      restriction('^@berth/api$', 'the agent never imports the main/renderer contract: it shares with main only the wire formats of @berth/protocol'),
    ],
    ...(layer === 'runtime' ? {} : addonLoading),
  }),
});

const NO_AGENT = 'apps/main never imports the agent: it talks to it over the link';
const main = appConfigs({
  src: 'apps/main/src',
  layers: MAIN_LAYERS,
  restrictionsFor: (layer, depth) => ({
    restrictions: [
      ...(layer
        ? [
            layerRestriction('apps/main/src', layer, MAIN_LAYERS[layer], depth),
            restriction(`^${ups(depth)}cli(?:\\.[jt]s)?$`, 'cli.ts is a composition root: nothing imports it'),
          ]
        : []),
      ...(layer === 'electron' ? [] : [noElectron]),
      restriction(`^${ups(depth + 2)}vm-agent/`, NO_AGENT),
    ],
  }),
});

const RENDERER_ONLY_API = 'the renderer imports nothing outside apps/renderer but the main/renderer contract, @berth/api (packages/berth-api)';
const renderer = appConfigs({
  src: 'apps/renderer/src',
  restrictionsFor: (_layer, depth) => ({
    restrictions: [
      nodeBuiltins,
      noElectron,
      // depth+2 ups reach apps/: nothing there (nor above) is the renderer's.
      restriction(`^${ups(depth + 2)}`, RENDERER_ONLY_API),
      restriction('^@berth/(?!api$)', RENDERER_ONLY_API),
    ],
  }),
});

const packages = PACKAGES.flatMap((name) =>
  appConfigs({
    src: `packages/${name}/src`,
    restrictionsFor: (_layer, depth) => ({
      restrictions: [
        // depth+1 ups leave src/: apps/, other packages, the repository.
        restriction(`^${ups(depth + 1)}`, `packages/${name}/ imports nothing outside its own src/ (no apps/, no other package): both sides import it`),
        restriction(
          '^(?!\\.{1,2}/)',
          `packages/${name}/ imports no module by name (no Node, no Electron, no dependency): it is compiled without Node or DOM types for both sides`,
        ),
      ],
    }),
  }),
);

export default defineConfig(
  {
    ignores: ['**/node_modules/**', '**/dist/**', 'build/**', 'native/build/**', 'resources/*/out*/**', 'resources/*/cache/**'],
  },
  {
    files: [`**/*.${CODE}`],
    languageOptions: { parser: tseslint.parser, sourceType: 'module', ecmaVersion: 'latest' },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  // typescript-eslint's recommended set, less what the code deliberately does otherwise.
  ...tseslint.configs.recommended.map((c) => ({ ...c, files: c.files ?? [`**/*.${CODE}`] })),
  {
    files: [`**/*.${CODE}`],
    rules: {
      // `_name` marks a value left out on purpose (a rest sibling, a positional argument).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // Comma sequences (`done(), resolve()`) are a style the code uses, not a lost value.
      '@typescript-eslint/no-unused-expressions': 'off',
      // One finding (apps/vm-agent/src/build/builder.ts), left to that file's next change rather than churned here.
      'prefer-const': 'off',
    },
  },
  {
    // Tests poke at loosely typed answers (JSON from the engine) on purpose.
    files: [`tests/**/*.${CODE}`, `**/*.test.${CODE}`],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-asserted-optional-chain': 'off' },
  },
  {
    // The two classic hooks rules; the React-compiler rules of the plugin's recommended set are not adopted yet.
    files: [`apps/renderer/**/*.${CODE}`, `tests/component/**/*.${CODE}`],
    plugins: { 'react-hooks': reactHooks },
    rules: { 'react-hooks/rules-of-hooks': 'error', 'react-hooks/exhaustive-deps': 'error' },
  },
  ...agent,
  ...main,
  ...renderer,
  ...packages,
);
