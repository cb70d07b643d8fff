// kafkajs consumer groups for tests/clients/test_kafkajs.py: two consumers in one group
// share a 2-partition topic (each gets one partition), read every record once and commit;
// after both leave, a third consumer in the same group resumes from the committed offsets
// and sees only what was produced since. Prints what each phase saw as JSON.
'use strict';

const { Kafka, logLevel } = require('kafkajs');

async function consumeUntil(kafka, groupId, topic, want, timeoutMs) {
  const seen = [];
  const consumers = [];
  const assignments = [];
  const count = want.consumers;
  for (let c = 0; c < count; c++) {
    const consumer = kafka.consumer({
      groupId, sessionTimeout: 10000, heartbeatInterval: 500, rebalanceTimeout: 10000,
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      assignments[c] = (e.payload.memberAssignment[topic] || []).slice().sort();
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    consumers.push(consumer);
  }
  await Promise.all(consumers.map((consumer, c) => consumer.run({
    eachMessage: async ({ partition, message }) => {
      seen.push({ consumer: c, partition, offset: message.offset, value: message.value.toString() });
    },
  })));
  const deadline = Date.now() + timeoutMs;
  while (seen.length < want.records && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  // kafkajs commits what eachMessage processed when it stops (autoCommit).
  await Promise.all(consumers.map((consumer) => consumer.disconnect()));
  return { seen, assignments };
}

async function main() {
  const [bootstrap, topic, groupId] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: 'odradek-group-test', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const batch = (from, n) => Array.from({ length: n }, (_, i) => ({
    partition: (from + i) % 2, value: `v${from + i}`,
  }));
  await producer.send({ topic, acks: -1, messages: batch(0, 10) });
  const first = await consumeUntil(kafka, groupId, topic, { consumers: 2, records: 10 }, 30000);
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  await producer.send({ topic, acks: -1, messages: batch(10, 4) });
  const second = await consumeUntil(kafka, groupId, topic, { consumers: 1, records: 4 }, 30000);
  const groups = await admin.describeGroups([groupId]);
  await producer.disconnect();
  await admin.disconnect();
  console.log(JSON.stringify({ first, committed, second, group: groups.groups[0] }));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
