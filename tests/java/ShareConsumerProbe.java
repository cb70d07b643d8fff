// Kafka's Java KafkaShareConsumer (explicit acknowledgement) driven by a scenario name, for
// tests/java/test_share_consumer.py: run with the JDK's source launcher against the jars in
// .cache/kafka. Prints one line per delivery, "R <value> <delivery count>", and nothing else
// on stdout. Never decides whether the broker was right: the Python test does.
//
//   java -cp '<jars>' ShareConsumerProbe.java BOOTSTRAP TOPIC GROUP SCENARIO COUNT [CONSUMERS]
//
// Scenarios: accept (CONSUMERS consumers, one thread each, accept everything), release
// (release each record's first delivery, accept the second), reject (reject everything),
// limit (release every delivery until the broker stops delivering), hold (a first consumer
// acquires one batch and never acknowledges it, printing "H <records>"; a second one reports
// what reaches it).

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;

public class ShareConsumerProbe {
    static final long DEADLINE_MS = 40_000;
    static final long QUIET_MS = 2_000;
    static final ConcurrentLinkedQueue<String> OUT = new ConcurrentLinkedQueue<>();

    static KafkaShareConsumer<String, String> consumer(String bootstrap, String group, String topic) {
        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        props.put("group.id", group);
        props.put("share.acknowledgement.mode", "explicit");
        props.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
        props.put("value.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
        KafkaShareConsumer<String, String> c = new KafkaShareConsumer<>(props);
        c.subscribe(List.of(topic));
        return c;
    }

    interface Decide {
        AcknowledgeType decide(ConsumerRecord<String, String> r);
    }

    /** Poll until `done` deliveries in all (or the deadline), then until nothing more came
     * for QUIET_MS. */
    static void run(KafkaShareConsumer<String, String> c, Decide decide, AtomicInteger seen, int done) {
        long deadline = System.currentTimeMillis() + DEADLINE_MS;
        long last = System.currentTimeMillis();
        while (System.currentTimeMillis() < deadline) {
            if (seen.get() >= done && System.currentTimeMillis() - last > QUIET_MS) {
                break;
            }
            boolean any = false;
            for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                any = true;
                OUT.add("R " + r.value() + " " + r.deliveryCount().orElse((short) -1));
                seen.incrementAndGet();
                AcknowledgeType ack = decide.decide(r);
                if (ack != null) {
                    c.acknowledge(r, ack);
                }
            }
            if (any) {
                c.commitSync();
                last = System.currentTimeMillis();
            }
        }
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1], group = args[2], scenario = args[3];
        int count = Integer.parseInt(args[4]);
        int consumers = args.length > 5 ? Integer.parseInt(args[5]) : 1;
        AtomicInteger seen = new AtomicInteger();
        List<KafkaShareConsumer<String, String>> open = new ArrayList<>();
        try {
            switch (scenario) {
                case "accept": {
                    List<Thread> threads = new ArrayList<>();
                    for (int i = 0; i < consumers; i++) {
                        KafkaShareConsumer<String, String> c = consumer(bootstrap, group, topic);
                        open.add(c);
                        threads.add(new Thread(() -> run(c, r -> AcknowledgeType.ACCEPT, seen, count)));
                    }
                    threads.forEach(Thread::start);
                    for (Thread t : threads) {
                        t.join();
                    }
                    break;
                }
                case "release": {
                    KafkaShareConsumer<String, String> c = consumer(bootstrap, group, topic);
                    open.add(c);
                    run(c, r -> r.deliveryCount().orElse((short) 0) == 1 ? AcknowledgeType.RELEASE
                        : AcknowledgeType.ACCEPT, seen, 2 * count);
                    break;
                }
                case "reject":
                case "limit": {
                    KafkaShareConsumer<String, String> c = consumer(bootstrap, group, topic);
                    open.add(c);
                    AcknowledgeType ack = scenario.equals("reject") ? AcknowledgeType.REJECT
                        : AcknowledgeType.RELEASE;
                    run(c, r -> ack, seen, count);
                    break;
                }
                case "hold": {
                    KafkaShareConsumer<String, String> holder = consumer(bootstrap, group, topic);
                    open.add(holder);
                    // One poll's records, never acknowledged (explicit mode allows no
                    // second poll before they are): the test produces them as one batch.
                    long deadline = System.currentTimeMillis() + DEADLINE_MS;
                    int held = 0;
                    while (held == 0 && System.currentTimeMillis() < deadline) {
                        held = holder.poll(Duration.ofMillis(200)).count();
                    }
                    OUT.add("H " + held);
                    KafkaShareConsumer<String, String> other = consumer(bootstrap, group, topic);
                    open.add(other);
                    run(other, r -> AcknowledgeType.ACCEPT, seen, count);
                    break;
                }
                default:
                    throw new IllegalArgumentException("unknown scenario " + scenario);
            }
        } finally {
            for (KafkaShareConsumer<String, String> c : open) {
                c.close(Duration.ofSeconds(5));
            }
        }
        OUT.forEach(System.out::println);
    }
}
