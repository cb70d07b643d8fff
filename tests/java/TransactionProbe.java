// Kafka's Java KafkaProducer and KafkaConsumer in transactions, for
// tests/java/test_java_transactions.py: run with the JDK's source launcher against the jars
// in .cache/kafka. Prints one line per observation and nothing else on stdout; never decides
// whether the broker was right: the Python test compares Odradek's lines with Kafka's.
//
//   java -cp '<jars>' TransactionProbe.java BOOTSTRAP TOPIC TXN_ID_PREFIX TIMEOUT_WAIT_MS
//
// Lines: "COMMIT ok", "ABORT ok"; "FENCED <exception>" for what the first producer gets
// after a second one with its transactional id initialized; "TIMEOUT <exception>" for a
// commit after the broker aborted the transaction past its timeout (the probe waits
// TIMEOUT_WAIT_MS); then "read_committed <values>" and "read_uncommitted <values>", each
// the partition's values in offset order.

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

public class TransactionProbe {
    static KafkaProducer<String, String> producer(String bootstrap, String id, int timeoutMs) {
        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        props.put("transactional.id", id);
        props.put("transaction.timeout.ms", Integer.toString(timeoutMs));
        props.put("key.serializer", "org.apache.kafka.common.serialization.StringSerializer");
        props.put("value.serializer", "org.apache.kafka.common.serialization.StringSerializer");
        KafkaProducer<String, String> p = new KafkaProducer<>(props);
        p.initTransactions();
        return p;
    }

    static void send(KafkaProducer<String, String> p, String topic, String... values) throws Exception {
        for (String v : values) {
            p.send(new ProducerRecord<>(topic, 0, null, v)).get();
        }
    }

    /** The exception a step ends with, by simple class name (its cause's when wrapped). */
    static String failure(Runnable step) {
        try {
            step.run();
            return "none";
        } catch (RuntimeException e) {
            Throwable t = e;
            if (t instanceof org.apache.kafka.common.KafkaException && t.getCause() != null
                    && t.getClass() == org.apache.kafka.common.KafkaException.class) {
                t = t.getCause();
            }
            return t.getClass().getSimpleName();
        }
    }

    static List<String> read(String bootstrap, String topic, String isolation) {
        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        props.put("isolation.level", isolation);
        props.put("enable.auto.commit", "false");
        props.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
        props.put("value.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
        List<String> values = new ArrayList<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(props)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            Map<TopicPartition, Long> end = c.endOffsets(List.of(tp));
            long deadline = System.currentTimeMillis() + 30_000;
            while (c.position(tp) < end.get(tp) && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    values.add(r.value());
                }
            }
        }
        return values;
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1], prefix = args[2];
        long timeoutWait = Long.parseLong(args[3]);

        KafkaProducer<String, String> first = producer(bootstrap, prefix + "-a", 60_000);
        first.beginTransaction();
        send(first, topic, "c1", "c2");
        first.commitTransaction();
        System.out.println("COMMIT ok");
        first.beginTransaction();
        send(first, topic, "a1");
        first.abortTransaction();
        System.out.println("ABORT ok");

        KafkaProducer<String, String> second = producer(bootstrap, prefix + "-a", 60_000);
        System.out.println("FENCED " + failure(() -> {
            first.beginTransaction();
            first.send(new ProducerRecord<>(topic, 0, null, "f1"));
            first.commitTransaction();
        }));
        first.close(Duration.ZERO);
        second.beginTransaction();
        send(second, topic, "s1");
        second.commitTransaction();
        second.close();

        KafkaProducer<String, String> slow = producer(bootstrap, prefix + "-t", 1_000);
        slow.beginTransaction();
        send(slow, topic, "t1");
        Thread.sleep(timeoutWait); // the broker's own timeout sweep must pass
        System.out.println("TIMEOUT " + failure(slow::commitTransaction));
        slow.close(Duration.ZERO);

        System.out.println("read_committed " + String.join(",", read(bootstrap, topic, "read_committed")));
        System.out.println("read_uncommitted " + String.join(",", read(bootstrap, topic, "read_uncommitted")));
    }
}
