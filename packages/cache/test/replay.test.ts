import { createLogger } from '@crm/telemetry';
import { OutageReplay, REPLAY_MARGIN_MS, type ReplayableEvent, type ReplayPage } from '../src/replay';
import { waitFor } from '@crm/testing';

// The replay's paging and resumption are pure logic: an in-memory outbox, applying is recording.
const logger = createLogger('cache-test', 'silent');

class Outbox {
  readonly events: (ReplayableEvent & { at: number })[] = [];
  readonly pages: (ReplayPage & { since: number })[] = [];
  /** The call (1-based) that fails once, as a database that drops a query. */
  failCall = 0;
  private calls = 0;
  record(count: number, at = Date.now()): void {
    for (let i = 0; i < count; i++) {
      this.events.push({ eventId: String(this.events.length + 1), occurredAt: new Date(at).toISOString(), tags: ['t'], at });
    }
  }
  source = async (since: Date, page: ReplayPage): Promise<ReplayableEvent[]> => {
    this.pages.push({ ...page, since: since.getTime() });
    if (++this.calls === this.failCall) throw new Error('database down');
    return this.events.filter((e) => e.at >= since.getTime() && Number(e.eventId) > Number(page.afterId ?? 0)).slice(0, page.limit);
  };
}

it('a long outage is read a page at a time, by id, and every event is applied', async () => {
  const outbox = new Outbox();
  outbox.record(2_500);
  const applied: string[] = [];
  const replay = new OutageReplay(outbox.source, async (e) => applied.push(e.eventId), logger, 1_000);
  replay.note(Date.now());
  expect(await replay.run()).toBe(true);
  expect(outbox.pages.map((p) => [p.afterId, p.limit])).toEqual([[null, 1_000], ['1000', 1_000], ['2000', 1_000]]);
  expect(new Set(applied).size).toBe(2_500);
  expect(replay.owed).toBe(false);
});

it('a failing page is retried from where it stopped, not from the start', async () => {
  const outbox = new Outbox();
  outbox.record(1_500);
  const applied: string[] = [];
  outbox.failCall = 2; // the second page
  const replay = new OutageReplay(outbox.source, async (e) => applied.push(e.eventId), logger, 1_000);
  replay.note(Date.now());
  expect(await replay.run()).toBe(false);
  expect(replay.owed).toBe(true);
  await waitFor(() => replay.run(), 'the retried replay to finish', 5_000);
  // The retry asked for the page after the first one again, never for the first page.
  expect(outbox.pages.map((p) => p.afterId)).toEqual([null, '1000', '1000']);
  expect(new Set(applied).size).toBe(1_500);
});

it('an outage noted while a replay runs extends it with another pass instead of being forgotten', async () => {
  const outbox = new Outbox();
  const firstOutage = Date.now() - 10 * REPLAY_MARGIN_MS;
  outbox.record(10, firstOutage);
  const applied: string[] = [];
  let noted = false;
  const replay: OutageReplay = new OutageReplay(outbox.source, async (e) => {
    if (!noted) {
      noted = true;
      // A second outage while the first replay applies its events: its events are committed meanwhile.
      outbox.record(5);
      replay.note(Date.now());
    }
    applied.push(e.eventId);
  }, logger, 1_000);
  replay.note(firstOutage + REPLAY_MARGIN_MS);
  expect(await replay.run()).toBe(true);
  expect(outbox.pages).toHaveLength(2);
  expect(outbox.pages[1]!.since).toBeGreaterThan(outbox.pages[0]!.since);
  expect(new Set(applied)).toEqual(new Set(outbox.events.map((e) => e.eventId)));
});
