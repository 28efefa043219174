/**
 * Statements that carry many requests' work at once. A hot statement that does little per
 * row (a refresh token's rotation) spends most of PostgreSQL's time on what every statement
 * costs: the round trip, the executor's start-up, the commit and its WAL flush. Under load,
 * requests that would each have sent one such statement wait while a batch is in flight and
 * then go together in the next: one statement, one transaction, one commit. Under light load
 * nothing waits: a request finding a batch slot free goes at once, alone.
 */

import type { QueryResultRow } from 'pg'
import { sqlStateClass } from './sqlstate.ts'

/** A statement written for many items: the work of `items`, in one statement. */
export interface BatchedStatement<I, O> {
  /** For errors, and the metrics' label `statement`. */
  readonly name: string
  /**
   * Runs the items' work as one statement (one transaction) through `query` and answers one
   * output per item, in the items' order.
   */
  run(query: StatementRunner, items: readonly I[]): Promise<O[]>
  /**
   * Items of one key never share a batch: the second waits for the next one, so it sees what
   * the first did (the same refresh token presented twice at once is a rotation, then a reuse).
   */
  keyOf?(item: I): string
  /**
   * false: the batch commits without waiting for the WAL flush (TransactionOptions.durable),
   * for a statement whose work a crash may undo at no more cost than a retry of the flow.
   */
  readonly durable?: false
}

/**
 * A batch's items as one JSON parameter (the statement reads them with jsonb_to_recordset),
 * each carrying `n`, its position in the batch, and listed in the order of `lockKey`. Two
 * batches in flight at once (two processes) share rows only through items of the same key
 * (a token or a session used in both), and so lock those rows in the same order.
 */
export function itemsParameter<T extends { readonly n: number }>(items: T[], lockKey: keyof T): string {
  return JSON.stringify(
    items.sort((a, b) => (a[lockKey] < b[lockKey] ? -1 : a[lockKey] > b[lockKey] ? 1 : 0)),
  )
}

/**
 * One output per item, in the items' order, from a batch's rows that each carry their item's
 * position `n`: `output` of its row, undefined for an item without one.
 */
export function byPosition<R extends { readonly n: number }, O>(
  count: number,
  rows: readonly R[],
  output: (row: R) => O,
): (O | undefined)[] {
  const outputs: (O | undefined)[] = new Array(count).fill(undefined)
  for (const row of rows) outputs[row.n] = output(row)
  return outputs
}

/** One statement in its own transaction, scoped to the batch's organization. */
export type StatementRunner = <R extends QueryResultRow>(
  text: string,
  values: unknown[],
) => Promise<{ rows: R[] }>

export interface BatchOptions {
  /** Batches of one statement in flight at once; requests beyond them wait for the next. */
  readonly inFlight: number
  /** Items in one batch at most. */
  readonly maxItems: number
  /**
   * Requests of a returned batch that carry on in one turn of the event loop (default: all);
   * the next ones go on in the next turn, so that what arrived meanwhile (the next batch's
   * result, new requests for the batch after it) is read in between, not after all of them.
   */
  readonly perTurn?: number
}

interface Waiting<I, O> {
  readonly item: I
  readonly key: string | undefined
  resolve(output: O): void
  reject(err: unknown): void
}

/**
 * Runs one BatchedStatement for one process: queues the items of each organization (a batch
 * is scoped to one, for row-level security) and starts a batch whenever fewer than
 * `inFlight` are running, taking the organizations in turn.
 */
export class Batcher<I, O> {
  readonly #statement: BatchedStatement<I, O>
  readonly #options: BatchOptions
  readonly #runner: (organizationId: string) => StatementRunner
  // Organizations with waiting items, in the order they are served.
  readonly #queues = new Map<string, Waiting<I, O>[]>()
  #inFlight = 0
  #batches = 0
  #items = 0

  constructor(
    statement: BatchedStatement<I, O>,
    options: BatchOptions,
    runner: (organizationId: string) => StatementRunner,
  ) {
    if (!(options.inFlight >= 1 && options.maxItems >= 1))
      throw new RangeError('a batch needs at least one slot and one item')
    this.#statement = statement
    this.#options = options
    this.#runner = runner
  }

  /** The output of `item`'s work, done in the next batch of `organizationId`. */
  submit(organizationId: string, item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      const waiting = { item, key: this.#statement.keyOf?.(item), resolve, reject }
      const queue = this.#queues.get(organizationId)
      if (queue) queue.push(waiting)
      else this.#queues.set(organizationId, [waiting])
      this.#pump()
    })
  }

  /** Batches running now. */
  get inFlight(): number {
    return this.#inFlight
  }

  /**
   * Batches started so far and the items they carried (the metrics' counters), and the items
   * waiting now for a batch.
   */
  get stats(): {
    readonly statement: string
    readonly batches: number
    readonly items: number
    readonly waiting: number
  } {
    let waiting = 0
    for (const queue of this.#queues.values()) waiting += queue.length
    return { statement: this.#statement.name, batches: this.#batches, items: this.#items, waiting }
  }

  #pump(): void {
    while (this.#inFlight < this.#options.inFlight) {
      const next = this.#queues.entries().next()
      if (next.done) return
      const [organizationId, queue] = next.value
      const batch = this.#take(queue)
      // Served: to the back of the line, if it still has items waiting.
      this.#queues.delete(organizationId)
      if (queue.length > 0) this.#queues.set(organizationId, queue)
      this.#inFlight++
      this.#batches++
      this.#items += batch.length
      void this.#run(organizationId, batch)
    }
  }

  /** Up to maxItems from the head of `queue`, at most one per key; the rest stay, in order. */
  #take(queue: Waiting<I, O>[]): Waiting<I, O>[] {
    const batch: Waiting<I, O>[] = []
    const keys = new Set<string>()
    let kept = 0
    for (const waiting of queue) {
      const fits =
        batch.length < this.#options.maxItems && (waiting.key === undefined || !keys.has(waiting.key))
      if (fits) {
        batch.push(waiting)
        if (waiting.key !== undefined) keys.add(waiting.key)
      } else queue[kept++] = waiting
    }
    queue.length = kept
    return batch
  }

  async #run(organizationId: string, batch: readonly Waiting<I, O>[]): Promise<void> {
    let settled: Settled<O>[]
    try {
      const outputs = await this.#attempt(organizationId, batch)
      settled = outputs.map((value) => ({ ok: true, value }))
    } catch (err) {
      // One statement, one transaction: nothing of the batch was written. When one item's
      // data may be what failed it (a value PostgreSQL refuses, a constraint), each item runs
      // alone, so that one request's bad input fails that request only. Otherwise (the
      // database unreachable, a timeout) every request of the batch fails with the error.
      settled =
        batch.length > 1 && itemMayHaveFailed(err)
          ? await this.#oneByOne(organizationId, batch)
          : batch.map(() => ({ ok: false, error: err }))
    }
    // The next batch goes out before this one's requests carry on: the database works on it
    // while they are answered.
    this.#inFlight--
    this.#pump()
    this.#settle(batch, settled, 0)
  }

  /** Settles the requests of a batch from `from` on, perTurn of them now and the rest later. */
  #settle(batch: readonly Waiting<I, O>[], settled: readonly Settled<O>[], from: number): void {
    const to = Math.min(batch.length, from + (this.#options.perTurn ?? batch.length))
    for (let i = from; i < to; i++) {
      const s = settled[i]!
      if (s.ok) batch[i]!.resolve(s.value)
      else batch[i]!.reject(s.error)
    }
    if (to < batch.length) setImmediate(() => this.#settle(batch, settled, to))
  }

  async #attempt(organizationId: string, batch: readonly Waiting<I, O>[]): Promise<O[]> {
    const outputs = await this.#statement.run(
      this.#runner(organizationId),
      batch.map((w) => w.item),
    )
    if (outputs.length !== batch.length)
      throw new Error(`${this.#statement.name}: ${outputs.length} outputs for ${batch.length} items`)
    return outputs
  }

  async #oneByOne(organizationId: string, batch: readonly Waiting<I, O>[]): Promise<Settled<O>[]> {
    const settled: Settled<O>[] = []
    for (const w of batch) {
      try {
        const [value] = await this.#attempt(organizationId, [w])
        settled.push({ ok: true, value: value as O })
      } catch (error) {
        settled.push({ ok: false, error })
      }
    }
    return settled
  }
}

type Settled<O> = { readonly ok: true; readonly value: O } | { readonly ok: false; readonly error: unknown }

/**
 * Whether a statement's error can come from one item's data: a data exception (SQLSTATE class
 * 22: a NUL character, an invalid escape), an integrity constraint (23) or a transaction rolled
 * back for a conflict with another (40: deadlock, serialization).
 */
function itemMayHaveFailed(err: unknown): boolean {
  const sqlState = sqlStateClass(err)
  return sqlState === '22' || sqlState === '23' || sqlState === '40'
}
