import { createHash } from "node:crypto";

/**
 * Consistent hashing with virtual nodes, as a load balancer's
 * `hash $channel consistent` (nginx, ketama) places keys on servers: every
 * node owns many points on a 32-bit ring, a key goes to the node of the
 * first point at or after its own hash. When a node leaves, only its keys
 * move, each to the next node along the ring; every other key stays put.
 *
 * Pure: the same nodes and key give the same answer in every process.
 */
export class HashRing {
  /** Point hashes, ascending, and the node owning each. */
  private readonly points: number[];
  private readonly owners: number[];

  /**
   * `nodes` are node ids (the instance indexes of a run); each gets
   * `virtualNodes` points, 160 as in ketama: enough for an even spread.
   */
  constructor(
    readonly nodes: readonly number[],
    readonly virtualNodes = 160,
  ) {
    if (nodes.length === 0) throw new RangeError("a hash ring needs at least one node");
    const placed: [number, number][] = [];
    for (const node of nodes) {
      for (let i = 0; i < virtualNodes; i++) placed.push([hash32(`node-${node}-${i}`), node]);
    }
    // Ties (rare with 32 bits) are broken by node id, so the order never depends on insertion.
    placed.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.points = placed.map(([point]) => point);
    this.owners = placed.map(([, node]) => node);
  }

  /** The node that owns `key`. */
  nodeFor(key: string): number {
    return this.owners[this.firstPointAtOrAfter(hash32(key))] as number;
  }

  /**
   * Every node in the order a key fails over along the ring: its owner, then
   * the owner of the next point that belongs to another node, and so on.
   * `preference(key)[1]` is where the key goes when its owner leaves.
   */
  preference(key: string): number[] {
    const order: number[] = [];
    const start = this.firstPointAtOrAfter(hash32(key));
    for (let k = 0; k < this.points.length && order.length < this.nodes.length; k++) {
      const node = this.owners[(start + k) % this.points.length] as number;
      if (!order.includes(node)) order.push(node);
    }
    return order;
  }

  /** The same ring without `node` (the same points for every other node). */
  without(node: number): HashRing {
    return new HashRing(
      this.nodes.filter((n) => n !== node),
      this.virtualNodes,
    );
  }

  /** Index of the first point >= `h`, wrapping to 0 past the last. */
  private firstPointAtOrAfter(h: number): number {
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.points[mid] as number) < h) lo = mid + 1;
      else hi = mid;
    }
    return lo === this.points.length ? 0 : lo;
  }
}

/** The first 32 bits of the key's MD5, as ketama takes them: well spread for similar keys. */
export function hash32(text: string): number {
  return createHash("md5").update(text).digest().readUInt32LE(0);
}
