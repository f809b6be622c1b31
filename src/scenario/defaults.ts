/**
 * Every scenario field's default, written once, as it would be written in a
 * file (`"5s"`, `"10/s"`), by its dotted path. The normaliser falls back to
 * these; the JSON schema's `default` keywords must say the same (a test
 * compares them), and so must its enums and the lists below. Transport
 * sections are not here: their defaults are on the transport rows.
 */
export const SCENARIO_DEFAULTS = {
  description: "",
  seed: 1,
  "server.instances": 1,
  "server.broker": "memory",
  "server.history.maxCount": 1000,
  "server.history.maxAge": "5m",
  "server.heartbeatInterval": "30s",
  "server.maxBodyBytes": 65_536,
  "server.deliveryDelay": "0ms",
  "server.maxBodyDepth": 64,
  "server.maxPollBatch": 1000,
  "server.maxPollBytes": 262_144,
  "server.writeTimeout": "10s",
  "server.requestTimeout": "10s",
  "server.redisCommandTimeout": "2s",
  "server.nats.jetstream": true,
  "server.routing": "pubsub",
  "server.fanout": "write",
  "server.presenceEvents": false,
  "server.presenceBatch": "1s",
  "server.h2.maxStreams": 100,
  "server.h2.idleTimeout": "30s",
  // Read only when server.proxy is given (absent: no proxy).
  "server.proxy.balance": "round-robin",
  "server.proxy.buffering": "off",
  "server.proxy.idleTimeout": "60s",
  "server.proxy.blockUpgrade": false,
  "server.proxy.tls": false,
  "clients.count": 100,
  "clients.rampUp": "5s",
  "clients.channels": 10,
  "clients.channelPrefix": "room-",
  "clients.shards": 0,
  "clients.channelSkew": "even",
  "clients.members": 0,
  "clients.maxNeverConnectedShare": 0.01,
  // Read only when clients.fallback is given (absent: no fallback).
  "clients.fallbackTimeout": "3s",
  "publish.rate": "10/s",
  "publish.payloadBytes": 256,
  "publish.via": "http",
  "publish.payload": "text",
  "publish.publishers": 1,
  "publish.maxInFlight": 1000,
  "publish.ackTimeout": "5s",
  duration: "30s",
  warmup: "5s",
  drain: "5s",
  "generator.maxEventLoopDelay": "50ms",
  "generator.maxCpuShare": 0.9,
  "generator.maxEventLoopUtilization": 0.9,
  "workers.maxClockBound": "2ms",
  "saturation.serverCpuShare": 0.9,
  "saturation.latencyRise": "100ms",
  "saturation.latencyRiseFactor": 2,
  "presence.sampleInterval": "0ms",
} as const;

export type DefaultedPath = keyof typeof SCENARIO_DEFAULTS;

/** Presence lasts this many heartbeat intervals unless `server.presenceTtl` says otherwise. */
export const PRESENCE_TTL_HEARTBEATS = 3;

/** `reconnect:` fields, as written in a file; also each transport section's `reconnect`. */
export const RECONNECT_DEFAULTS = {
  initialDelay: "500ms",
  maxDelay: "10s",
  multiplier: 2,
  jitter: "full",
  maxRetries: 20,
  resume: true,
  watchdog: 3,
  honorServerRetry: true,
} as const;

/** What fills a message body up to its size: `publish.payload`. */
export const PUBLISH_PAYLOADS = ["text", "random"] as const;
export type PublishPayload = (typeof PUBLISH_PAYLOADS)[number];

/** Reconnect jitter kinds: `reconnect.jitter`. */
export const JITTER_KINDS = ["none", "full", "equal"] as const;

/** `server.routing`. */
export const ROUTINGS = ["pubsub", "sticky"] as const;

/** `server.fanout`. */
export const FANOUT_STRATEGIES = ["write", "read", "tiered"] as const;

/** Transports that carry the read and tiered fan-out frames (notify, fetch, unread). */
export const MEMBER_FANOUT_PROTOCOLS = ["websocket"] as const;
