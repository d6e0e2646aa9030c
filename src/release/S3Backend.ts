/**
 * A store in an S3-compatible bucket (AWS S3, Cloudflare R2, MinIO, Google Cloud Storage's XML
 * API), under `s3://<bucket>/<prefix>`, through `@aws-sdk/client-s3`, an optional peer
 * dependency loaded only when an s3:// store is opened. Credentials come the usual AWS way
 * (environment, shared profile, instance role).
 *
 * How it keeps StoreBackend's promises (docs/cli.md, "Publishing to S3", says what they rest on):
 * - a PUT replaces an object atomically and durably once acknowledged, so `put` is one PUT with
 *   the document's Cache-Control (immutable kinds for a year, the rest `no-cache`) and Content-Type;
 * - `replaces` and `create` are conditional writes (`If-Match` on the ETag read, `If-None-Match: *`),
 *   checked beforehand as well and read back afterwards, so a server that ignores conditional
 *   writes still cannot move a document from under a writer except in the moment between the two;
 * - `exclusive` is a lock object, `.tranche.lock`, created with `If-None-Match: *` and read back,
 *   deleted when done; one older than LOCK_LEASE_MS was left by a killed writer and is broken.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { TrancheError, isTrancheError } from '../core/TrancheError.js';
import { utf8, type PutOptions, type StoreBackend } from './StoreBackend.js';
import { cacheControlOf, documentKind } from './storeLayout.js';
import { LOCK_TIMEOUT_MS } from './storeLock.js';

/** The SDK: loaded on first use, so that apps that never touch a bucket never install it. */
type Sdk = typeof import('@aws-sdk/client-s3');

/** How a bucket is reached. */
export interface S3Options {
  /** An S3-compatible endpoint such as `https://<account>.r2.cloudflarestorage.com`; path-style addressing. @default AWS S3 */
  endpoint?: string;
  /** @default AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1 */
  region?: string;
  /** @default the AWS SDK's chain: environment, shared profile, instance role */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** A lock older than this was left by a killed writer: no command holds it this long. */
const LOCK_LEASE_MS = 10 * 60_000;
const LOCK = '.tranche.lock';

/** True for a store location naming a bucket (`s3://…`). */
export function isS3Url(location: string): boolean {
  return location.startsWith('s3://');
}

/** `s3://bucket/prefix` split; refuses anything else naming what is wrong. */
function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  const prefix = match?.[2]?.replace(/\/+$/, '') ?? '';
  if (!match || (prefix && prefix.split('/').some((part) => part === '' || part === '.' || part === '..')))
    throw new TrancheError('invalid-argument', {
      where: `${url}`,
      problem: `expected s3://<bucket>/<prefix> such as s3://my-bucket/store`,
    });
  return { bucket: match[1]!, prefix: prefix ? `${prefix}/` : '' };
}

async function loadSdk(): Promise<Sdk> {
  try {
    return await import('@aws-sdk/client-s3');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new TrancheError('missing-dependency', { name: '@aws-sdk/client-s3', feature: 's3:// stores' });
  }
}

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** The bytes of a document as read, and the ETag they were read with. */
interface Seen {
  bytes: Uint8Array;
  etag: string;
}

/** The SDK and a client, made on first use. */
interface Connection {
  sdk: Sdk;
  client: S3Client;
}

/** The store at `s3://bucket/prefix`. Opening one sends nothing: the first read or write connects. */
export class S3Backend implements StoreBackend {
  readonly bucket: string;
  readonly prefix: string;
  private _connection: Promise<Connection> | null = null;

  constructor(
    url: string,
    private readonly _options: S3Options = {},
  ) {
    ({ bucket: this.bucket, prefix: this.prefix } = parseS3Url(url));
  }

  get location(): string {
    return `s3://${this.bucket}/${this.prefix}`.replace(/\/$/, '');
  }

  where(path: string): string {
    return `s3://${this.bucket}/${this.prefix}${path}`;
  }

  async read(path: string): Promise<Uint8Array | null> {
    return (await this._get(path))?.bytes ?? null;
  }

  async size(path: string): Promise<number | null> {
    const { sdk, client } = await this._connect();
    const head = await this._call('HEAD', path, () =>
      client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + path })),
    );
    return head ? (head.ContentLength ?? 0) : null;
  }

  async list(prefix: string): Promise<string[]> {
    return [...(await this.sizes(prefix)).keys()].sort();
  }

  /**
   * Pages through ListObjects (version 1) with `Marker` set to the last key seen: every
   * S3-compatible server answers it, and it needs no server-made continuation token (s3rver's,
   * enciphered with DES, fails with HTTP 500 on Node 17+, whose OpenSSL 3 lacks DES).
   */
  async sizes(prefix: string): Promise<Map<string, number>> {
    const { sdk, client } = await this._connect();
    const out = new Map<string, number>();
    let marker: string | undefined;
    for (;;) {
      const command = new sdk.ListObjectsCommand({ Bucket: this.bucket, Prefix: this.prefix + prefix, Marker: marker });
      const page = await this._call('LIST', prefix, () => client.send(command));
      const objects = (page?.Contents ?? []).flatMap(({ Key, Size }) => (Key ? [{ key: Key, size: Size ?? 0 }] : []));
      for (const { key, size } of objects) {
        const path = key.slice(this.prefix.length);
        if (path && !path.split('/').some((part) => part.startsWith('.'))) out.set(path, size);
      }
      if (!page?.IsTruncated) return out;
      const last = page.NextMarker ?? objects.at(-1)?.key;
      if (last === undefined || (marker !== undefined && last <= marker))
        throw this._failed('LIST', prefix, new Error('the server said the listing goes on but gave no key to go on from'));
      marker = last;
    }
  }

  async put(path: string, data: string | Uint8Array, { replaces, type }: PutOptions = {}): Promise<void> {
    const { sdk, client } = await this._connect();
    const body = typeof data === 'string' ? Buffer.from(data) : data;
    const condition = replaces === undefined ? {} : await this._condition(path, replaces);
    const kind = documentKind(path);
    const command = new sdk.PutObjectCommand({
      Bucket: this.bucket,
      Key: this.prefix + path,
      Body: body,
      ContentType: type ?? kind?.type ?? 'application/octet-stream',
      CacheControl: kind ? cacheControlOf(kind) : 'no-cache',
      ...condition,
    });
    await this._call('PUT', path, () => client.send(command));
    if (replaces === undefined) return;
    // Read back: on a server that ignored the condition, a concurrent writer may have won.
    const stored = await this._get(path);
    if (!stored || Buffer.compare(stored.bytes, body) !== 0) throw this._changed(path);
  }

  async create(path: string, data: string | Uint8Array): Promise<boolean> {
    if ((await this.size(path)) !== null) return false;
    try {
      await this.put(path, data, { replaces: null });
      return true;
    } catch (err) {
      if (isTrancheError(err, 'conflict') && (await this.size(path)) !== null) return false;
      throw err;
    }
  }

  async append(path: string, line: string): Promise<void> {
    const current = await this.read(path);
    const text = current ? utf8(current) : '';
    // Whole-object PUTs leave no torn line; a hand-edited copy may still lack its final newline.
    const kept = text.slice(0, text.lastIndexOf('\n') + 1);
    await this.put(path, kept + line, { replaces: current });
  }

  async exclusive<T>(fn: () => Promise<T>, timeoutMs = LOCK_TIMEOUT_MS): Promise<T> {
    const holder = { host: hostname(), pid: process.pid, since: new Date().toISOString(), nonce: randomBytes(8).toString('hex') };
    const owner = `${JSON.stringify(holder)}\n`;
    const started = Date.now();
    for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
      if (await this.create(LOCK, owner)) {
        const held = await this.read(LOCK);
        if (held && utf8(held) === owner) break;
      }
      const found = await this.read(LOCK);
      const since = found ? Date.parse((JSON.parse(utf8(found)) as { since?: string }).since ?? '') : NaN;
      if (found && !(Date.now() - since < LOCK_LEASE_MS)) {
        await this._delete(LOCK);
        continue;
      }
      if (Date.now() - started >= timeoutMs)
        throw new TrancheError('locked', {
          path: this.where(LOCK),
          waitedMs: Date.now() - started,
          holder: found ? utf8(found).trim() : 'nobody',
        });
      await sleep(delay);
    }
    try {
      return await fn();
    } finally {
      const held = await this.read(LOCK);
      if (held && utf8(held) === owner) await this._delete(LOCK);
    }
  }

  private _connect(): Promise<Connection> {
    this._connection ??= loadSdk().then((sdk) => {
      const { endpoint, region, credentials } = this._options;
      const client = new sdk.S3Client({
        region: region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
        ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
        ...(credentials ? { credentials } : {}),
        // Checksums only where S3 requires them: several S3-compatible servers reject the SDK's defaults.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
      return { sdk, client };
    });
    return this._connection;
  }

  /** The answer of `send`; null for a 404; `method` and `path` name the request in errors. */
  private async _call<T>(method: string, path: string, send: () => Promise<T>): Promise<T | null> {
    try {
      return await send();
    } catch (err) {
      if (status(err) === 404) return null;
      if (status(err) === 412 || status(err) === 409) throw this._changed(path);
      throw this._failed(method, path, err);
    }
  }

  private async _get(path: string): Promise<Seen | null> {
    const { sdk, client } = await this._connect();
    return this._call('GET', path, async () => {
      const got = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + path }));
      return { bytes: await got.Body!.transformToByteArray(), etag: got.ETag ?? '' };
    });
  }

  /** The precondition making a write replace exactly `expected`, checked now as well. */
  private async _condition(path: string, expected: Uint8Array | null): Promise<{ IfMatch?: string; IfNoneMatch?: string }> {
    const current = await this._get(path);
    if (expected === null) {
      if (current) throw this._changed(path);
      return { IfNoneMatch: '*' };
    }
    if (!current || Buffer.compare(current.bytes, expected) !== 0) throw this._changed(path);
    return { IfMatch: current.etag };
  }

  private async _delete(path: string): Promise<void> {
    const { sdk, client } = await this._connect();
    await this._call('DELETE', path, () => client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + path })));
  }

  private _changed(path: string): TrancheError {
    return new TrancheError('conflict', { what: this.where(path), reason: 'changed by another writer meanwhile; run the command again' });
  }

  private _failed(method: string, path: string, err: unknown): TrancheError {
    const code = status(err);
    return new TrancheError('store-failed', {
      what: `${method} ${this.where(path)}`,
      reason: `${code ? `HTTP ${code} ` : ''}${(err as Error).name}: ${(err as Error).message}`,
    });
  }
}
