// kafkajs round trip for tests/clients/test_kafkajs.py: create a topic, produce keyed
// messages with headers and timestamps (uncompressed and gzip, the codecs kafkajs ships
// without plugins), then read them back from offset 0 with kafkajs' own Fetch request
// (its cluster/broker layer: its public consumer always joins a consumer group, which is
// another issue's API), and print what it saw as JSON.
'use strict';

const { Kafka, CompressionTypes, logLevel } = require('kafkajs');

async function main() {
  const [bootstrap, topic, count] = process.argv.slice(2);
  const n = Number(count);
  const kafka = new Kafka({ clientId: 'odradek-test', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const base = Date.now() - 60000;
  const make = (i) => ({
    key: `key-${i}`,
    value: `value-${i}`,
    headers: { trace: `t${i}` },
    timestamp: String(base + i * 10),
  });
  const half = Math.floor(n / 2);
  const produced = [];
  produced.push(...(await producer.send({
    topic, acks: -1, messages: Array.from({ length: half }, (_, i) => make(i)),
  })));
  produced.push(...(await producer.send({
    topic, acks: -1, compression: CompressionTypes.GZIP,
    messages: Array.from({ length: n - half }, (_, i) => make(half + i)),
  })));
  await producer.disconnect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();

  const createCluster = Object.getOwnPropertySymbols(kafka)
    .find((s) => s.toString() === 'Symbol(private:Kafka:createCluster)');
  const cluster = kafka[createCluster]({});
  await cluster.connect();
  await cluster.addTargetTopic(topic);
  const leader = await cluster.findBroker({ nodeId: '0' });
  const consumed = [];
  let offset = '0';
  for (let attempt = 0; consumed.length < n && attempt < 20; attempt++) {
    const response = await leader.fetch({
      maxWaitTime: 500, minBytes: 1, maxBytes: 1 << 20,
      topics: [{ topic, partitions: [{ partition: 0, fetchOffset: offset, maxBytes: 1 << 20 }] }],
    });
    const part = response.responses[0].partitions[0];
    if (part.errorCode !== 0) throw new Error(`fetch error ${part.errorCode}`);
    for (const m of part.messages) {
      if (BigInt(m.offset) < BigInt(offset)) continue;
      consumed.push({
        offset: m.offset, key: m.key.toString(), value: m.value.toString(),
        timestamp: m.timestamp, trace: m.headers.trace.toString(),
      });
      offset = String(BigInt(m.offset) + 1n);
    }
  }
  await cluster.disconnect();
  console.log(JSON.stringify({ produced, offsets, base, consumed }));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
