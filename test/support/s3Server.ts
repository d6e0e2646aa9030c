/**
 * A real S3-compatible server for tests: s3rver on 127.0.0.1 at a free port, its objects in a
 * temporary directory, one bucket whose CORS rules are the ones docs/cli.md tells users to set
 * (GET and HEAD from the app's origin). Stopped and removed by `close`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import type { S3Options } from '../../src/release/index.js';

/** The CORS rules of docs/cli.md, for `origins`. */
export function corsRules(origins: readonly string[]): string {
  return [
    '<CORSConfiguration><CORSRule>',
    ...origins.map((origin) => `<AllowedOrigin>${origin}</AllowedOrigin>`),
    '<AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod>',
    '<MaxAgeSeconds>3600</MaxAgeSeconds>',
    '</CORSRule></CORSConfiguration>',
  ].join('');
}

/** A running server and how to reach its bucket. */
export interface S3TestServer {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  bucket: string;
  /** What openStore and the CLI need to reach it (fixed test credentials). */
  options: S3Options;
  /** The environment the CLI needs (credentials, endpoint). */
  env: Record<string, string>;
  /** The key of every object written (PUT or POST) since the server started, in the order the server stored them. */
  written: string[];
  /** The public URL of an object, as a browser fetches it (path-style). */
  url(key: string, bucket?: string): string;
  /**
   * Creates the bucket `name` whose CORS rules let `origins` read it, set through the S3 API as
   * docs/cli.md tells users to (put-bucket-cors).
   */
  createBucket(name: string, origins: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** Starts s3rver with bucket `bucket`, its CORS rules allowing `origins` (default: any). */
export async function startS3Server(bucket = 'tranche-test', origins: readonly string[] = ['*']): Promise<S3TestServer> {
  const directory = await mkdtemp(join(tmpdir(), 'tranche-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [corsRules(origins)] }],
  });
  const written: string[] = [];
  server.on('event', (event) => {
    for (const record of event.Records) if (record.eventName.startsWith('ObjectCreated:')) written.push(record.s3.object.key);
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  return {
    endpoint,
    bucket,
    options: { endpoint, region: 'us-east-1', credentials },
    env: {
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
      TRANCHE_S3_ENDPOINT: endpoint,
      // The SDK warns on stderr that it will need Node 22 from 2027; the tests compare stderr.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    written,
    url: (key, inBucket = bucket) => `${endpoint}/${inBucket}/${key}`,
    createBucket: async (name, origins) => {
      const { S3Client, CreateBucketCommand, PutBucketCorsCommand } = await import('@aws-sdk/client-s3');
      const client = new S3Client({ endpoint, region: 'us-east-1', credentials, forcePathStyle: true });
      try {
        await client.send(new CreateBucketCommand({ Bucket: name }));
        const rules = [{ AllowedOrigins: [...origins], AllowedMethods: ['GET', 'HEAD'], MaxAgeSeconds: 3600 }];
        await client.send(new PutBucketCorsCommand({ Bucket: name, CORSConfiguration: { CORSRules: rules } }));
      } finally {
        client.destroy();
      }
    },
    close: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
