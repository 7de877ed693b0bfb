/**
 * A package index (PEP 503 "simple" pages) on 127.0.0.1 serving the wheels of a local folder,
 * for tests that need pip to talk HTTP: an index that answers slowly, fails, or is gone.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface IndexServerOptions {
  /** Answer every request with this status instead (503: an index that is down). */
  status?: number;
  /** Project pages wait for this before answering (a slow index). */
  hold?: Promise<void>;
}

export interface IndexServer {
  /** `http://127.0.0.1:PORT/simple` */
  url: string;
  /** Paths requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

const normalize = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '-');

export async function startIndex(wheelhouse: string, options: IndexServerOptions = {}): Promise<IndexServer> {
  const requests: string[] = [];
  const server: Server = createServer(async (request, response) => {
    const url = request.url ?? '/';
    requests.push(url);
    if (options.status !== undefined) {
      response.writeHead(options.status, { 'content-type': 'text/plain' });
      response.end('unavailable');
      return;
    }
    const project = /^\/simple\/([^/]+)\/?$/.exec(url)?.[1];
    if (project) {
      await options.hold;
      const files = readdirSync(wheelhouse).filter((file) => normalize(file.split('-')[0]!) === normalize(project));
      if (files.length === 0) {
        response.writeHead(404, { 'content-type': 'text/plain' });
        response.end('no such project');
        return;
      }
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end(`<!DOCTYPE html><html><body>${files.map((file) => `<a href="/files/${file}">${file}</a>`).join('\n')}</body></html>`);
      return;
    }
    const file = /^\/files\/([^/]+)$/.exec(url)?.[1];
    if (file && readdirSync(wheelhouse).includes(file)) {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      response.end(readFileSync(path.join(wheelhouse, file)));
      return;
    }
    response.writeHead(404);
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/simple`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A port on 127.0.0.1 where nothing listens (connections are refused at once). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
