/**
 * The configuration files rtbench writes for a proxy in front of the
 * reference instances (`server.proxy`): pure functions from the settings to
 * the file's text, so a test can read what nginx or HAProxy is told.
 */
import type { ProxyOptions } from "../scenario/types.js";

/** TLS at the proxy: what it serves its clients, and how it reaches TLS instances. */
export interface ProxyTls {
  /** The certificate and key (PEM files) the proxy serves; null: plain HTTP at the proxy. */
  front: { cert: string; key: string } | null;
  /** The CA file that verifies the instances' certificate (server.tls); null: plain HTTP to them. */
  upstreamCa: string | null;
}

/**
 * The name the proxy checks on the instances' certificate when it
 * re-encrypts: the throwaway certificate names localhost, and nginx matches
 * host names only (not the 127.0.0.1 it dials).
 */
export const UPSTREAM_TLS_NAME = "localhost";

export interface ProxyConfigInput {
  options: ProxyOptions;
  /** Where the proxy listens (127.0.0.1). */
  port: number;
  /** The instances behind it, as `host:port`. */
  upstreams: readonly string[];
  /** The run's scratch directory: pid file, logs and nginx's temp files. */
  dir: string;
  /** nginx as root switches its workers to `nobody`, who cannot write the scratch directory. */
  asRoot: boolean;
  /** TLS towards the clients: the files, and `pem` (certificate then key) for HAProxy; null: plain. */
  front?: { cert: string; key: string; pem: string } | null;
  /** The CA file to verify TLS instances with (server.tls: re-encrypt); null: plain to them. */
  upstreamCa?: string | null;
}

/** Connections each proxy process accepts; far above what a test or a small run opens. */
const MAX_CONNECTIONS = 65536;

/**
 * nginx: one worker (the proxy's cost is then one process's, comparable to
 * HAProxy's single process), upstream keep-alive, WebSocket upgrades passed
 * through, and the channel taken from the path or the query for hash-channel.
 */
export function nginxConfig(input: ProxyConfigInput): string {
  const { options, upstreams, dir } = input;
  const balance = {
    "round-robin": "",
    "least-conn": "    least_conn;\n",
    "hash-channel": "    hash $rtbench_channel consistent;\n",
  }[options.balance];
  return `${input.asRoot ? "user root;\n" : ""}worker_processes 1;
worker_rlimit_nofile ${MAX_CONNECTIONS * 2};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events {
  worker_connections ${MAX_CONNECTIONS};
}
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy_temp;
  fastcgi_temp_path ${dir}/fastcgi_temp;
  uwsgi_temp_path ${dir}/uwsgi_temp;
  scgi_temp_path ${dir}/scgi_temp;
  # Upgrade only when the client asked; otherwise keep the upstream connection alive.
  map $http_upgrade $rtbench_connection {
    default upgrade;
    "" "";
  }
  # The channel: the last segment of /api/stream/C or /ws/chat/C, else ?channel=C.
  map $uri $rtbench_path_channel {
    ~^/api/stream/(?<c>[^/]+)$ $c;
    ~^/ws/chat/(?<c>[^/]+)$ $c;
    default "";
  }
  map $rtbench_path_channel $rtbench_channel {
    "" $arg_channel;
    default $rtbench_path_channel;
  }
  upstream rtbench_instances {
${balance}${upstreams.map((u) => `    server ${u} max_fails=0;\n`).join("")}    keepalive 64;
  }
${nginxServer(input)}}
`;
}

/** nginx's `server` block: where it listens (with TLS or not) and how it passes requests on. */
function nginxServer(input: ProxyConfigInput): string {
  const { options, port } = input;
  const front = input.front ?? null;
  const upstreamCa = input.upstreamCa ?? null;
  const timeout = `${Math.max(1, Math.round(options.idleTimeoutMs))}ms`;
  // TLS at the proxy: HTTP/2 by ALPN to clients that offer it (sse-h2), 1.1 to the others.
  const listen =
    front === null
      ? `    listen 127.0.0.1:${port} backlog=4096;\n`
      : `    listen 127.0.0.1:${port} backlog=4096 ssl http2;
    ssl_certificate ${front.cert};
    ssl_certificate_key ${front.key};
    ssl_session_cache shared:rtbench_tls:10m;
`;
  // Re-encrypting to TLS instances: verified with the run's CA, sessions reused.
  const upstreamTls =
    upstreamCa === null
      ? ""
      : `      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate ${upstreamCa};
      proxy_ssl_name ${UPSTREAM_TLS_NAME};
      proxy_ssl_server_name on;
      proxy_ssl_session_reuse on;
`;
  const buffering = options.buffering
    ? // The reference server sends X-Accel-Buffering: no on its streams, which
      // would turn buffering off again per response: on must really buffer.
      "      proxy_buffering on;\n      proxy_ignore_headers X-Accel-Buffering;\n"
    : "      proxy_buffering off;\n";
  // A restrictive proxy: no WebSocket through it (return is safe inside if).
  const block = options.blockUpgrade
    ? '      if ($http_upgrade != "") {\n        return 403;\n      }\n'
    : "";
  // A request that failed on its instance must not be retried on another one:
  // with hash-channel that instance does not hold the channel (routing sticky).
  const retry = options.balance === "hash-channel" ? "      proxy_next_upstream off;\n" : "";
  return `  server {
${listen}    location / {
${block}      proxy_pass ${upstreamCa === null ? "http" : "https"}://rtbench_instances;
${upstreamTls}
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $rtbench_connection;
${buffering}      proxy_read_timeout ${timeout};
      proxy_send_timeout ${timeout};
      proxy_connect_timeout 5s;
${retry}    }
  }
`;
}

/**
 * HAProxy in mode http: it passes WebSocket upgrades by itself. It holds no
 * response in a buffer, but it sends a streamed body with MSG_MORE, and the
 * kernel then keeps a partial segment up to 200 ms for more to come: that
 * is its buffering (measured: SSE latency p50 210 ms vs 3 ms). Off is
 * `option http-no-delay`. The idle timeout is `timeout client`/`server` while a
 * request is open and `timeout tunnel` once upgraded; hash-channel puts the
 * channel in a header first and hashes that header.
 */
export function haproxyConfig(input: ProxyConfigInput): string {
  const { options, port, upstreams } = input;
  const front = input.front ?? null;
  const upstreamCa = input.upstreamCa ?? null;
  const bind = front === null ? "" : ` ssl crt ${front.pem} alpn h2,http/1.1`;
  const serverTls =
    upstreamCa === null
      ? ""
      : ` ssl verify required ca-file ${upstreamCa} verifyhost ${UPSTREAM_TLS_NAME} sni str(${UPSTREAM_TLS_NAME}) alpn http/1.1`;
  const timeout = `${Math.max(1, Math.round(options.idleTimeoutMs))}ms`;
  const balance = {
    "round-robin": "  balance roundrobin\n",
    "least-conn": "  balance leastconn\n",
    "hash-channel": "  balance hdr(x-rtbench-channel)\n  hash-type consistent\n",
  }[options.balance];
  const channelRules =
    options.balance === "hash-channel"
      ? [
          "  http-request set-header x-rtbench-channel %[url_param(channel)]",
          // "/api/stream/C" and "/ws/chat/C": the 4th field when split at "/".
          "  http-request set-header x-rtbench-channel %[path,field(4,/)] if { path_beg /api/stream/ /ws/chat/ }",
          "",
        ].join("\n")
      : "";
  const block = options.blockUpgrade
    ? "  http-request deny deny_status 403 if { hdr(upgrade) -m found }\n"
    : "";
  // No maxconn: HAProxy derives it from the open-file limit it is given.
  return `global
  log stderr format raw local0 warning
defaults
  mode http
${options.buffering ? "" : "  option http-no-delay\n"}  log global
  option dontlognull
  timeout connect 5s
  timeout client ${timeout}
  timeout server ${timeout}
  timeout tunnel ${timeout}
  timeout http-request 10s
  timeout http-keep-alive ${timeout}
frontend rtbench
  bind 127.0.0.1:${port}${bind}
${block}  default_backend rtbench_instances
backend rtbench_instances
${balance}${channelRules}${upstreams.map((u, i) => `  server instance${i} ${u}${serverTls}\n`).join("")}`;
}
