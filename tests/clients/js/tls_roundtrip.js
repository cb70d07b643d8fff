// kafkajs over TLS or SASL for tests/logstore/security/test_tls_clients.py and
// test_sasl_cli_clients.py: produce five records to a new topic and read them back with a
// consumer group, over SSL, SASL_SSL or SASL_PLAINTEXT with the options given as JSON
// ({ssl?: {ca, cert?, key?}, sasl?: {mechanism, username, password}}), and print what was
// consumed as JSON.
'use strict';

const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [bootstrap, topic, optionsJson] = process.argv.slice(2);
  const options = JSON.parse(optionsJson);
  const kafka = new Kafka({
    clientId: 'odradek-tls-test', brokers: [bootstrap], logLevel: logLevel.NOTHING, ...options,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  await producer.send({
    topic, acks: -1, messages: Array.from({ length: 5 }, (_, i) => ({ value: `value-${i}` })),
  });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `g-${topic}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const consumed = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed only ${consumed.length}`)), 60000);
    consumer.run({
      eachMessage: async ({ message }) => {
        consumed.push(message.value.toString());
        if (consumed.length === 5) {
          clearTimeout(timer);
          resolve();
        }
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  console.log(JSON.stringify({ consumed }));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
