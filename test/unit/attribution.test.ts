import { describe, expect, it } from 'vitest';
import { attributeStack, attributeUrl, failedChunkUrl, importsSpecifier, unresolvedSpecifier } from '../../src/core/attribution.js';
import { describeError } from '../../src/client/describeError.js';

const origin = 'http://127.0.0.1:1234';
const options = { origin, prefix: '/modules/' };

describe('attributeUrl', () => {
  it('reads module@version from a versioned module URL', () => {
    expect(attributeUrl(`${origin}/modules/cart/2.1.0/assets/chunk-ab.js`, options)).toEqual({ module: 'cart', version: '2.1.0' });
    expect(attributeUrl(`${origin}/modules/ui.kit/1.0.0-rc.1/index.js?v=1#x`, options)).toEqual({
      module: 'ui.kit',
      version: '1.0.0-rc.1',
    });
  });

  it('honours a configured prefix', () => {
    expect(attributeUrl(`${origin}/static/m/cart/2.1.0/a.js`, { origin, prefix: '/static/m/' })).toEqual({
      module: 'cart',
      version: '2.1.0',
    });
    expect(attributeUrl(`${origin}/modules/cart/2.1.0/a.js`, { origin, prefix: '/static/m/' })).toBeNull();
  });

  it('blames nothing for the app shell, another origin, or a URL that is not a module file', () => {
    for (const url of [
      `${origin}/assets/shell-3f2a.js`,
      'https://cdn.example/modules/cart/2.1.0/a.js',
      `${origin}/modules/cart/2.1.0/`,
      `${origin}/modules/cart/2.1.0`,
      `${origin}/modules/cart/latest/a.js`,
      // Build metadata: no manifest can release such a version (semver drops it when printing).
      `${origin}/modules/cart/2.1.0+b7/a.js`,
      `${origin}/modules/cart/2.1.0/../a.js`,
      `${origin}/modules/Cart/2.1.0/a.js`,
      `${origin}/x/modules/cart/2.1.0/a.js`,
      'not a url',
    ])
      expect(attributeUrl(url, options), url).toBeNull();
  });

  it('accepts any origin when the caller passes null', () => {
    expect(attributeUrl('https://cdn.example/modules/cart/2.1.0/a.js', { origin: null, prefix: '/modules/' })).toEqual({
      module: 'cart',
      version: '2.1.0',
    });
  });
});

describe('attributeStack', () => {
  it('reads Chromium frames, named and anonymous, and takes the first module frame', () => {
    const stack = [
      "TypeError: Cannot read properties of undefined (reading 'x')",
      `    at helper (${origin}/assets/shell-3f2a.js:1:99)`,
      `    at Object.onClick (${origin}/modules/cart/2.1.0/assets/chunk-ab.js:1:20)`,
      `    at ${origin}/modules/header/1.0.0/index.js:4:2`,
    ].join('\n');
    expect(attributeStack(stack, options)).toEqual({ module: 'cart', version: '2.1.0' });
    expect(attributeStack(`Error: x\n    at ${origin}/modules/header/1.0.0/index.js:4:2`, options)).toEqual({
      module: 'header',
      version: '1.0.0',
    });
    expect(
      attributeStack(
        `Error: x\n    at async Promise.all (index 0)\n    at async load (${origin}/modules/cart/2.1.0/index.js:9:5)`,
        options,
      ),
    ).toEqual({ module: 'cart', version: '2.1.0' });
  });

  it('reads a Chromium eval frame by the script that called eval', () => {
    const stack = `Error: x\n    at eval (eval at run (${origin}/modules/cart/2.1.0/index.js:3:5), <anonymous>:1:7)`;
    expect(attributeStack(stack, options)).toEqual({ module: 'cart', version: '2.1.0' });
  });

  it('reads Firefox and Safari frames', () => {
    const firefox = [
      `helper@${origin}/assets/shell.js:1:99`,
      `onClick/<@${origin}/modules/cart/2.1.0/assets/chunk-ab.js:1:20`,
      `@${origin}/modules/header/1.0.0/index.js:4:2`,
    ].join('\n');
    expect(attributeStack(firefox, options)).toEqual({ module: 'cart', version: '2.1.0' });
    const safari = [
      `global code@${origin}/modules/header/1.0.0/index.js:4:2`,
      'module code@http://127.0.0.1:1234/assets/shell.js:1:1',
    ].join('\n');
    expect(attributeStack(safari, options)).toEqual({ module: 'header', version: '1.0.0' });
  });

  it('never blames a module quoted in the message of a V8 stack', () => {
    const stack = `Error: could not parse ${origin}/modules/cart/2.1.0/data.json:1:1\n    at parse (${origin}/assets/shell.js:3:3)`;
    expect(attributeStack(stack, options)).toBeNull();
  });

  it('blames nothing for a stack of shell and third-party frames only', () => {
    expect(
      attributeStack(`Error: x\n    at f (https://cdn.example/modules/cart/2.1.0/a.js:1:1)\n    at ${origin}/main.js:1:1`, options),
    ).toBeNull();
    expect(attributeStack('', options)).toBeNull();
  });
});

describe('failedChunkUrl', () => {
  it('recognises the dynamic-import failures of Chromium, Firefox, Safari and Vite', () => {
    expect(failedChunkUrl(`Failed to fetch dynamically imported module: ${origin}/modules/cart/2.1.0/a.js`)).toBe(
      `${origin}/modules/cart/2.1.0/a.js`,
    );
    expect(failedChunkUrl(`error loading dynamically imported module: ${origin}/modules/cart/2.1.0/a.js`)).toBe(
      `${origin}/modules/cart/2.1.0/a.js`,
    );
    expect(failedChunkUrl('Importing a module script failed.')).toBeNull();
    expect(failedChunkUrl(`Unable to preload CSS for ${origin}/modules/cart/2.1.0/a.css`)).toBe(`${origin}/modules/cart/2.1.0/a.css`);
    expect(failedChunkUrl('Cannot read properties of undefined')).toBeUndefined();
  });
});

describe('unresolvedSpecifier and importsSpecifier', () => {
  it('reads the bare specifier Chromium, Firefox and Safari could not resolve', () => {
    expect(
      unresolvedSpecifier('Failed to resolve module specifier "react". Relative references must start with either "/", "./", or "../".'),
    ).toBe('react');
    expect(unresolvedSpecifier('The specifier \u201creact/jsx-runtime\u201d was a bare specifier, but was not remapped to anything.')).toBe(
      'react/jsx-runtime',
    );
    expect(unresolvedSpecifier("Module name, '@scope/pkg' does not resolve to a valid URL.")).toBe('@scope/pkg');
    expect(unresolvedSpecifier('Failed to fetch dynamically imported module: /x.js')).toBeUndefined();
  });

  it('finds static, dynamic and re-exporting imports of exactly that specifier, minified or not', () => {
    for (const code of [
      `import React from 'react';`,
      `import{useState as a}from"react";`,
      `import "react"`,
      `const m = await import ( 'react' )`,
      `export * from "react"`,
    ])
      expect(importsSpecifier(code, 'react'), code).toBe(true);
    for (const code of [`import x from "react-dom"`, `import x from "./react"`, `const s = "react"`, `import x from "preact"`])
      expect(importsSpecifier(code, 'react'), code).toBe(false);
    expect(importsSpecifier(`import x from "a.b+c"`, 'a.b+c')).toBe(true);
    expect(importsSpecifier(`import x from "aXb+c"`, 'a.b+c')).toBe(false);
  });
});

describe('describeError', () => {
  it('calls an unresolvable bare specifier a failed load whose importer is still to be found', () => {
    const error = new TypeError('Failed to resolve module specifier "left-pad". Relative references must start with either "/".');
    expect(describeError({ error }, options)).toMatchObject({ ref: null, chunkLoad: true, unresolved: 'left-pad' });
  });

  it('blames the module whose file failed to import, not the importer in the stack', () => {
    const error = new TypeError(`Failed to fetch dynamically imported module: ${origin}/modules/cart/2.1.0/index.js`);
    error.stack = `TypeError: ${error.message}\n    at ${origin}/modules/header/1.0.0/index.js:1:1`;
    expect(describeError({ error }, options)).toMatchObject({ ref: { module: 'cart', version: '2.1.0' }, chunkLoad: true });
  });

  it('treats a failed import of a shell chunk as an unattributed chunk load', () => {
    const error = new TypeError(`Failed to fetch dynamically imported module: ${origin}/assets/vendor.js`);
    expect(describeError({ error }, options)).toMatchObject({ ref: null, chunkLoad: true });
  });

  it('uses the event filename, then the stack', () => {
    expect(describeError({ error: 'boom', filename: `${origin}/modules/cart/2.1.0/index.js` }, options)).toEqual({
      ref: { module: 'cart', version: '2.1.0' },
      chunkLoad: false,
      message: 'boom',
    });
    const error = new RangeError('bad');
    error.stack = `RangeError: bad\n    at f (${origin}/modules/cart/2.1.0/index.js:1:1)`;
    expect(describeError({ error, filename: `${origin}/main.js` }, options)).toMatchObject({
      ref: { module: 'cart', version: '2.1.0' },
      message: 'RangeError: bad',
    });
  });

  it('describes a failed <script> by its URL', () => {
    expect(describeError({ error: undefined, failedUrl: `${origin}/modules/cart/2.1.0/a.js` }, options)).toEqual({
      ref: { module: 'cart', version: '2.1.0' },
      chunkLoad: true,
      message: `failed to load ${origin}/modules/cart/2.1.0/a.js`,
    });
  });

  it('survives thrown values whose fields throw', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('no');
        },
      },
    );
    expect(describeError({ error: hostile, message: 'Uncaught [object]' }, options)).toEqual({
      ref: null,
      chunkLoad: false,
      message: 'Uncaught [object]',
    });
    expect(describeError({ error: Object.create(null) }, options)).toEqual({
      ref: null,
      chunkLoad: false,
      message: 'unprintable thrown value',
    });
  });
});
