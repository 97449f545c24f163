import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaService } from '../../server/media/index.js';
import { createLogger } from '../../server/shared/index.js';
import { reserveRtcPorts, type RtcPortRange } from '../support/ports.js';
import { rtpParameters } from '../support/sockets.js';

/** The SFU on real mediasoup workers, without sockets in between. */
describe('MediaService on real mediasoup workers', () => {
  let media: MediaService;
  let rtc: RtcPortRange;

  beforeAll(async () => {
    rtc = await reserveRtcPorts();
    media = await MediaService.create({
      workers: 2,
      announcedIp: '127.0.0.1',
      minPort: rtc.min,
      maxPort: rtc.max,
      logger: createLogger('silent'),
      routerCapacity: 1,
    });
  });
  afterAll(() => {
    media?.close();
    rtc?.release();
  });

  it('gives worker i one UDP and one TCP port: minPort + i', async () => {
    const dumps = await Promise.all(media.pool.workers.map((slot) => slot.webRtcServer.dump()));
    const ports = dumps.map((dump) => [
      dump.udpSockets.map((s) => s.port),
      dump.tcpServers.map((s) => s.port),
    ]);
    expect(ports).toEqual([
      [[rtc.min], [rtc.min]],
      [[rtc.min + 1], [rtc.min + 1]],
    ]);
  });

  it('spreads a full exam over a second worker and pipes producers to consumers there', async () => {
    const examId = randomUUID();
    const sessionId = randomUUID();
    media.openPeer({ id: 'candidate-1', examId, sessionId, role: 'candidate' });
    media.openPeer({ id: 'proctor-1', examId, sessionId: null, role: 'proctor' });

    const send = await media.createTransport('candidate-1');
    const producerId = await media.produce('candidate-1', {
      transportId: send.id,
      kind: 'video',
      source: 'camera',
      rtpParameters: rtpParameters('video', 7777),
    });
    // The first router is full (capacity 1): the proctor's transport lands on another worker.
    const recv = await media.createTransport('proctor-1');
    const room = await media.room(examId);
    expect(room.routerCount).toBe(2);
    expect(new Set(room.workerIndexes).size).toBe(2);

    const consumer = await media.consume('proctor-1', {
      transportId: recv.id,
      producerId,
      rtpCapabilities: room.router.rtpCapabilities,
    });
    expect(consumer).toMatchObject({ producerId, kind: 'video' });
    // A second consumer of the same producer on that router reuses the pipe.
    media.openPeer({ id: 'proctor-2', examId, sessionId: null, role: 'proctor' });
    const recv2 = await media.createTransport('proctor-2');
    await expect(
      media.consume('proctor-2', {
        transportId: recv2.id,
        producerId,
        rtpCapabilities: room.router.rtpCapabilities,
      }),
    ).resolves.toMatchObject({ producerId });

    media.closePeer('candidate-1');
    expect(media.producersOfSession(sessionId)).toEqual([]);
    media.closePeer('proctor-1');
    media.closePeer('proctor-2');
  });

  it('closes a peer twice without harm and forgets unknown ids', async () => {
    media.openPeer({ id: 'p', examId: randomUUID(), sessionId: randomUUID(), role: 'candidate' });
    media.closePeer('p');
    media.closePeer('p');
    expect(() => media.peer('p')).toThrow(/no media session/);
  });
});
