import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { TlsSettings } from './web-config.js';
import type { WebConfigSource } from './web-config-source.js';

/**
 * The HTTP server, with TLS when the web config has tls_server_config. Certificates, key and client CA are
 * re-read without a restart: on every new connection the web config source is asked for its current state
 * (it stats the files at most once a second), and a change swaps the server's secure context before that
 * connection's handshake.
 */
export function createWebServer(app: RequestListener, web: WebConfigSource, log: Logger): Server {
  const initial = web.current().tls;
  if (!initial) return createHttpServer(app);
  let tls: TlsSettings = initial;
  const server = createHttpsServer(serverOptions(tls), app);
  web.onChange((next) => {
    if (!next.tls) return;
    // Throws on a key that does not match its certificate: the source then keeps the previous config.
    server.setSecureContext(contextOptions(next.tls));
    // The client-certificate policy is the server's, read per connection; a reload may change it too.
    const policy = serverOptions(next.tls);
    Object.assign(server, { requestCert: policy.requestCert, rejectUnauthorized: policy.rejectUnauthorized });
    tls = next.tls;
  });
  // Before Node's own listener, which starts the handshake with whatever context is set at that moment.
  server.prependListener('connection', () => {
    web.current();
  });
  // Before the HTTP layer's own listener: a connection that breaks the client-certificate policy is closed before
  // any request on it is read, so nothing it sent can have an effect.
  server.prependListener('secureConnection', (socket: TLSSocket) => {
    const refusal = clientCertificateProblem(socket, tls);
    if (refusal) {
      log.warn({ from: socket.remoteAddress, reason: refusal }, 'TLS client refused');
      socket.destroy();
    }
  });
  server.on('tlsClientError', (err, socket) => {
    log.debug({ from: socket.remoteAddress, err: err.message }, 'TLS handshake failed');
  });
  return server;
}

function contextOptions(t: TlsSettings): ServerOptions {
  return {
    cert: t.cert,
    key: t.key,
    ...(t.ca !== undefined ? { ca: t.ca } : {}),
    minVersion: t.minVersion,
    maxVersion: t.maxVersion,
    ...(t.ciphers !== undefined ? { ciphers: t.ciphers } : {}),
    honorCipherOrder: t.honorCipherOrder,
    ...(t.ecdhCurve !== undefined ? { ecdhCurve: t.ecdhCurve } : {}),
  };
}

function serverOptions(t: TlsSettings): ServerOptions {
  // Node verifies a client certificate only with requestCert; rejectUnauthorized then ends the handshake for
  // one that does not verify. The policies that accept an unverified or absent certificate are finished in
  // clientCertificateProblem, after the handshake.
  const requestCert = t.clientAuth !== 'NoClientCert';
  return {
    ...contextOptions(t),
    requestCert,
    rejectUnauthorized: t.clientAuth === 'RequireAndVerifyClientCert',
  };
}

/** Why a connection breaks the client-certificate policy (exporter-toolkit's client_auth_type), if it does. */
export function clientCertificateProblem(socket: TLSSocket, t: TlsSettings): string | undefined {
  if (t.clientAuth === 'NoClientCert' || t.clientAuth === 'RequestClientCert') return undefined;
  const cert = socket.getPeerCertificate();
  const present = cert !== undefined && Object.keys(cert).length > 0;
  if (!present) {
    return t.clientAuth === 'VerifyClientCertIfGiven' ? undefined : 'no client certificate';
  }
  if (t.clientAuth === 'VerifyClientCertIfGiven' && !socket.authorized) {
    return `client certificate not verified: ${String(socket.authorizationError)}`;
  }
  if (t.allowedSans !== undefined) {
    const sans = (cert.subjectaltname ?? '')
      .split(',')
      .map((s) => s.trim().replace(/^[A-Za-z ]+:/, ''))
      .filter(Boolean);
    if (!sans.some((s) => t.allowedSans?.includes(s)))
      return 'client certificate SAN not in client_allowed_sans';
  }
  return undefined;
}
